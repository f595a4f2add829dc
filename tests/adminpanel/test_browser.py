"""
A staff member opens every dashboard in Debian's Chromium (headless, through
Playwright) against the live test server: no console errors, no CSP
violations, charts drawn, and the Realtime panel refreshing by itself.

Screenshots at laptop and phone sizes go to /tmp/shots-dash/ (not part of
the repository) for a person to look at.
"""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.days import local_date
from tests.browser import CHROMIUM_ARGS
from tests.factories import UserFactory

from .conftest import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-dash")
SIZES = {
    "laptop": {"width": 1366, "height": 900},
    "phone": {"width": 390, "height": 844},
}
PAGES = [
    "overview",
    "sales",
    "products",
    "funnel",
    "traffic",
    "search",
    "customers",
    "realtime",
    "data",
]


# Tables whose columns do not fit their card (the card would scroll them).
CLIPPED_TABLES = """
[...document.querySelectorAll('.table-scroll')]
  .filter(box => box.scrollWidth > box.clientWidth + 1)
  .map(box => box.closest('section').id)
"""
# The smallest rendered font size, in CSS pixels, of any chart text.
SMALLEST_CHART_TEXT = """
(() => {
  const sizes = [...document.querySelectorAll('svg.chart text')]
    .map(t => t.getBoundingClientRect().height)
    .filter(h => h > 0);
  if (!sizes.length) return null;
  const t = document.querySelector('svg.chart text');
  const svg = t.ownerSVGElement;
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return Math.min(...[...document.querySelectorAll('svg.chart text')].map(
    el => parseFloat(getComputedStyle(el).fontSize) * scale));
})()
"""


def test_staff_opens_every_dashboard_without_console_errors(live_server, chromium_path):
    from playwright.sync_api import sync_playwright

    build_shop(today=local_date(timezone.now()))
    staff = UserFactory(email="staff-browser@example.com", is_staff=True)
    client = Client()
    client.force_login(staff)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    SHOTS.mkdir(exist_ok=True)
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            for size, viewport in SIZES.items():
                context = browser.new_context(viewport=viewport)
                context.add_cookies(
                    [
                        {
                            "name": django_settings.SESSION_COOKIE_NAME,
                            "value": cookie,
                            "url": live_server.url,
                        }
                    ]
                )
                page = context.new_page()
                page.on(
                    "console",
                    lambda m: (
                        problems.append(f"{m.type}: {m.text}")
                        if m.type == "error"
                        else None
                    ),
                )
                page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
                for name in PAGES:
                    url = live_server.url + reverse(f"adminpanel:{name}") + "?range=30d"
                    response = page.goto(url)
                    assert response.status == 200, name
                    if name not in {"realtime", "data"}:
                        assert page.locator("svg.chart").count() >= 1, name
                        assert (
                            page.locator(
                                "svg.chart polyline, svg.chart rect.bar"
                            ).count()
                            >= 1
                        ), name
                    if size == "laptop":
                        # No table clips its columns: none needs to scroll.
                        clipped = page.evaluate(CLIPPED_TABLES)
                        assert clipped == [], (name, clipped)
                    else:
                        # Chart labels stay legible on a phone.
                        smallest = page.evaluate(SMALLEST_CHART_TEXT)
                        assert smallest is None or smallest >= 11, (name, smallest)
                    page.screenshot(
                        path=str(SHOTS / f"{name}-{size}.png"), full_page=True
                    )
                # The preset buttons submit the form at once.
                page.goto(live_server.url + reverse("adminpanel:sales") + "?range=30d")
                page.locator("label.preset", has_text="Last 7 days").click()
                page.wait_for_url("**range=7d**")
                context.close()

            # Realtime swaps its fragment in without a reload.
            context = browser.new_context(viewport=SIZES["laptop"])
            context.add_cookies(
                [
                    {
                        "name": django_settings.SESSION_COOKIE_NAME,
                        "value": cookie,
                        "url": live_server.url,
                    }
                ]
            )
            page = context.new_page()
            page.goto(live_server.url + reverse("adminpanel:realtime"))
            page.evaluate("window.__marker = 1")
            page.wait_for_selector("[data-live-url][data-refreshed]", timeout=15_000)
            assert page.evaluate("window.__marker") == 1
            context.close()
        finally:
            browser.close()
    assert problems == []
