"""
Clickstream from a real browser: Debian's Chromium, headless, driven by
Playwright against the live test server. Proves that the server's page_view,
clicks on [data-track] and scroll depth reach /analytics/collect and land in
analytics_event.
"""

import time

import pytest
from django.db import connection

from analytics.models import Event
from analytics.services import events_flush
from tests.browser import CHROMIUM_ARGS
from tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _consent_required(settings):
    # The shop's default: no visitor cookie until the banner is accepted.
    settings.ANALYTICS_REQUIRE_CONSENT = True


@pytest.fixture
def long_category():
    """One category with a full page of products: a page long enough to scroll."""
    category = CategoryFactory(name="Outdoor", slug="outdoor")
    for i in range(24):
        product = ProductFactory(name=f"Trail Item {i:02d}", category=category)
        VariantFactory(product=product, stock=5)
    return category


def _stored_once(done, *, seconds: float = 10.0) -> list[Event]:
    """Flush and poll until `done(events)` holds (beacons are asynchronous)."""
    until = time.monotonic() + seconds
    try:
        while True:
            events_flush()
            stored = list(Event.objects.order_by("occurred_at", "id"))
            if done(stored) or time.monotonic() > until:
                return stored
            time.sleep(0.2)
    finally:
        # Inside sync_playwright() an event loop runs in this thread, so
        # Django hands out a connection of its own for that context; close
        # it, or dropping the PostgreSQL test database finds it in use.
        connection.close()


def _both_beacons_stored(events) -> bool:
    # The category page's (with the card click) and the product page's last
    # beacon (engaged time), so no request is still in flight at teardown.
    return any(
        e.name == "click" and e.properties.get("track") == "product-card"
        for e in events
    ) and any(e.name == "engaged" and e.route == "shop:product" for e in events)


def test_page_view_clicks_and_scroll_depth_arrive_from_chromium(
    live_server, chromium_path, long_category
):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        # A short viewport so the category page scrolls through every depth.
        context = browser.new_context(viewport={"width": 800, "height": 400})
        page = context.new_page()
        url = f"{live_server.url}/c/{long_category.slug}/"
        page.goto(url)
        page.get_by_role("button", name="Accept").click()
        page.wait_for_url(url)
        expect(page.locator("[data-consent-banner]")).to_have_count(0)
        assert context.cookies(live_server.url)  # the visitor cookie is set

        for fraction in (0.3, 0.55, 0.8, 1.0):
            page.evaluate(
                "f => window.scrollTo(0, f * (document.documentElement"
                ".scrollHeight - window.innerHeight))",
                fraction,
            )
            page.wait_for_timeout(50)
        # A tracked product card: the click is queued, then the navigation
        # hides the page and the beacon carries the batch.
        card = page.locator('[data-track="product-card"]').first
        card.click()
        page.wait_for_url(f"{live_server.url}/p/**")
        page.close()  # hides the product page too
        stored = _stored_once(_both_beacons_stored)
        context.close()
        browser.close()

    page_views = [e for e in stored if e.name == "page_view"]
    assert all(e.status_code == 200 and e.browser for e in page_views)
    on_category = [e for e in page_views if e.route == "shop:category"]
    # Before and after the consent banner's redirect, then the product.
    assert len(on_category) == 2
    assert page_views[0].visitor_id.startswith("h-")  # no consent yet: hashed
    product_view = next(e for e in page_views if e.route == "shop:product")
    assert not product_view.visitor_id.startswith("h-")  # the first-party cookie

    clicks = [e for e in stored if e.name == "click"]
    tracks = {e.properties["track"] for e in clicks}
    assert tracks == {"consent-accept", "product-card"}
    card_click = next(e for e in clicks if e.properties["track"] == "product-card")
    assert card_click.properties["href"].startswith("/p/")
    assert card_click.path == f"/c/{long_category.slug}/"
    assert card_click.route == "shop:category"
    assert card_click.client_time is not None
    assert card_click.viewport == "800x400"
    assert (card_click.visitor_id, card_click.session_id) == (
        product_view.visitor_id,
        product_view.session_id,
    )

    # Each depth once, from the one load that scrolled: the consent banner is
    # a fixed bar in view, so accepting it scrolls nothing on the first load;
    # the second was scrolled in steps.
    depths = [e.properties["depth"] for e in stored if e.name == "scroll"]
    assert sorted(depths) == [25, 50, 75, 100]
    assert all(e.route == "shop:category" for e in stored if e.name == "scroll")
    # Each event is stored once, whatever the retries.
    assert len({e.event_id for e in stored}) == len(stored)
