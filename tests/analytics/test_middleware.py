import time
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from analytics import context
from analytics.context import VISITOR_COOKIE
from analytics.models import Event
from analytics.services import TrackedEvent, event_record
from analytics.sinks import DatabaseSink
from tests.analytics.conftest import MOBILE_UA

pytestmark = pytest.mark.django_db


def test_page_view_has_the_full_shape(browser, flushed, product):
    response = browser.get(
        product.get_absolute_url() + "?utm_source=news&utm_medium=email"
        "&utm_campaign=spring&email=a@b.c&token=xyz&colour=red",
        headers={
            "referer": "https://www.google.com/search?q=mug",
            "accept-language": "en-GB,en;q=0.9",
            "cloudfront-viewer-country": "gb",
        },
    )
    assert response.status_code == 200
    events = {e.name: e for e in flushed()}
    assert set(events) == {"page_view", "product_view"}
    view = events["page_view"]
    assert (
        view.path
        == f"{product.get_absolute_url()}?utm_source=news&utm_medium=email&utm_campaign=spring&colour=red"
    )
    assert view.route == "shop:product"
    assert view.referrer == "https://www.google.com/search?q=mug"
    assert (view.utm_source, view.utm_medium, view.utm_campaign) == (
        "news",
        "email",
        "spring",
    )
    assert view.channel == "email"
    assert (view.device, view.browser, view.os) == ("desktop", "Chrome", "Windows")
    assert view.language == "en-GB"
    assert view.country == "GB"
    assert view.status_code == 200
    assert view.duration_ms is not None
    assert view.is_bot is False
    assert view.visitor_id == response.cookies[VISITOR_COOKIE].value
    assert events["product_view"].product_id == product.pk
    assert events["product_view"].session_id == view.session_id
    assert events["product_view"].visitor_id == view.visitor_id


def test_page_view_is_only_for_html_get(browser, flushed, product):
    browser.get("/healthz")
    browser.get("/robots.txt")
    browser.get("/admin/login/")
    browser.post(reverse("shop:cart_add"), {"variant": 0, "quantity": 1})
    assert [e.name for e in flushed()] == []


def test_404_pages_are_recorded_with_their_status(browser, flushed):
    browser.get("/no-such-page/")
    [event] = flushed()
    assert (event.name, event.status_code) == ("page_view", 404)


@pytest.mark.parametrize(
    "path, stored",
    [
        ("/caf%C3%A9/", "/caf%C3%A9/"),  # stored as requested, escaped
        ("/a%20b/(x)", "/a%20b/(x)"),
        ("/100%25/", "/100%25/"),
        ("/plain-path_1.2~3/", "/plain-path_1.2~3/"),
    ],
)
def test_page_view_paths_are_stored_escaped(browser, flushed, path, stored):
    browser.get(path)
    [event] = flushed()
    assert event.path == stored


def test_tracking_follows_setting_changes(browser, flushed, settings):
    settings.ANALYTICS_ENABLED = False
    browser.get("/")
    assert flushed() == []
    settings.ANALYTICS_ENABLED = True
    settings.ANALYTICS_REQUIRE_CONSENT = True
    settings.ANALYTICS_PRIVATE_MODE = "off"
    browser.get("/")  # no consent yet: not tracked at all
    assert flushed() == []
    settings.ANALYTICS_REQUIRE_CONSENT = False
    browser.get("/")
    assert [e.name for e in flushed()] == ["page_view"]


def test_session_and_visitor_persist_across_requests(browser, flushed, product):
    browser.get("/")
    browser.get(product.get_absolute_url())
    events = flushed()
    assert len({e.session_id for e in events}) == 1
    assert len({e.visitor_id for e in events}) == 1


def test_a_new_campaign_starts_a_new_session(browser, flushed):
    browser.get("/?utm_source=a&utm_campaign=one")
    browser.get("/")
    browser.get("/?utm_source=b&utm_campaign=two")
    first, second, third = flushed()
    assert first.session_id == second.session_id != third.session_id
    assert second.utm_campaign == "one"  # attribution sticks to the session
    assert third.utm_campaign == "two"
    assert first.visitor_id == third.visitor_id


@pytest.mark.parametrize(
    ("user_agent", "bot"),
    [
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", True),
        (
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            True,
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0 Safari/537.36",
            True,
        ),
        ("curl/8.5.0", True),
        ("python-requests/2.32", True),
        ("", True),
        (MOBILE_UA, False),
    ],
)
def test_bots_are_kept_but_flagged(client, flushed, user_agent, bot):
    client.get("/", headers={"user-agent": user_agent})
    [event] = flushed()
    assert event.is_bot is bot


def test_mobile_device_is_parsed(client, flushed):
    client.get("/", headers={"user-agent": MOBILE_UA})
    [event] = flushed()
    assert (event.device, event.os) == ("mobile", "iOS")


def test_commerce_events_from_services(browser, flushed, variant):
    browser.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 2})
    events = flushed()
    [add] = [e for e in events if e.name == "add_to_cart"]
    assert (add.product_id, add.variant_id) == (variant.product_id, variant.pk)
    assert add.value == Decimal("40.00")
    assert add.properties == {"quantity": 2}
    assert add.route == "shop:cart_add"
    assert add.session_id


def test_signed_in_user_is_attached(browser, flushed, user):
    # A page that reads the user (a shared catalogue page reads neither the
    # session nor the user, so its page view carries only the visitor's
    # and session's ids; see docs/analytics.md).
    browser.force_login(user)
    browser.get("/cart/")
    [event] = flushed()
    assert event.user_id == user.pk


def test_duplicate_event_ids_are_dropped(recorder, flushed, browser):
    browser.get("/")
    events_before = flushed()
    # A retried batch: the same events reach the sink again.
    DatabaseSink().write(
        [
            {
                **{
                    f.attname: getattr(e, f.attname)
                    for f in Event._meta.fields
                    if f.attname != "id"
                }
            }
            for e in events_before
        ]
    )
    assert Event.objects.count() == len(events_before) == 1


def test_the_session_cookie_is_rewritten_at_most_once_a_minute(
    browser, flushed, monkeypatch
):
    clock = [time.time()]
    monkeypatch.setattr(context.time, "time", lambda: clock[0])
    first = browser.get("/")
    assert context.SESSION_COOKIE in first.cookies
    clock[0] += 20
    assert context.SESSION_COOKIE not in browser.get("/").cookies
    clock[0] += 45  # 65 s after the last rewrite
    assert context.SESSION_COOKIE in browser.get("/").cookies
    views = [e for e in flushed() if e.name == "page_view"]
    assert len({e.session_id for e in views}) == 1


def test_a_session_ends_at_local_midnight_even_within_the_minute(
    browser, flushed, monkeypatch, settings
):
    settings.TIME_ZONE = "Europe/London"
    midnight = datetime(2026, 7, 3, tzinfo=ZoneInfo("Europe/London")).timestamp()
    clock = [midnight - 10]
    monkeypatch.setattr(context.time, "time", lambda: clock[0])
    browser.get("/?utm_source=news&utm_medium=email&utm_campaign=july")
    clock[0] += 5
    browser.get("/")  # the same session, its cookie as it was
    clock[0] += 10  # 00:00:05, 15 s after the cookie was written
    browser.get("/")
    first, second, third = [e for e in flushed() if e.name == "page_view"]
    assert first.session_id == second.session_id != third.session_id
    # The page view read from the unchanged cookie keeps the attribution.
    assert (second.utm_source, second.channel) == ("news", "email")
    assert third.channel == "direct"


@pytest.mark.parametrize(
    "value",
    [
        "s=abc&t=\u00b2&ch=direct&src=&med=&cmp=&ref=",
        "s=&x=1&t={now}&ch=direct",
        "s=abc&t=" + "9" * 5000,
    ],
)
def test_a_garbled_session_cookie_starts_a_new_session(browser, flushed, value):
    browser.cookies[context.SESSION_COOKIE] = value.format(now=int(time.time()))
    response = browser.get("/")
    assert response.status_code == 200
    assert context.SESSION_COOKIE in response.cookies  # rewritten
    [view] = flushed()
    assert view.session_id and view.session_id != "abc"
    assert not view.session_id.startswith("h-")


def test_a_requests_events_share_its_facts_and_a_callers_session_wins(
    browser, recorder, flushed, rf
):
    browser.get("/")  # the session cookie, written just now
    recorder.buffer.clear()
    request = rf.get("/", HTTP_USER_AGENT=MOBILE_UA)
    request.COOKIES = {key: morsel.value for key, morsel in browser.cookies.items()}
    ctx = context.TrackingContext(request)
    token = context.context_activate(ctx)
    try:
        event_record(name="product_view", product_id=1)
        event_record(name="search", session_id="mine")
    finally:
        context.context_deactivate(token)
    first, second = recorder.buffer
    assert all(isinstance(e, TrackedEvent) for e in (first, second))
    assert first.request is ctx.facts and first.request.session_cookie
    assert second.request.session_cookie is None  # the caller's, not the cookie's
    assert second.request.user_agent == MOBILE_UA
    by_name = {e.name: e for e in flushed()}
    assert by_name["search"].session_id == "mine"
    assert by_name["product_view"].session_id not in ("", "mine")
    assert by_name["search"].device == "mobile"
