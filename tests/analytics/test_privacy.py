import pytest
from django.urls import reverse

from analytics.context import CONSENT_COOKIE, SESSION_COOKIE, VISITOR_COOKIE
from analytics.models import Event
from analytics.tracking import visitor_hash

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("header", [{"dnt": "1"}, {"sec-gpc": "1"}])
def test_dnt_and_gpc_get_no_cookie_and_a_hashed_visitor(browser, flushed, header):
    first = browser.get("/", headers=header)
    second = browser.get("/", headers=header)
    assert VISITOR_COOKIE not in first.cookies and SESSION_COOKIE not in first.cookies
    assert VISITOR_COOKIE not in second.cookies
    one, two = flushed()
    assert one.visitor_id.startswith("h-") and one.visitor_id == two.visitor_id
    assert one.session_id and one.session_id == two.session_id  # from the cache


@pytest.mark.parametrize("header", [{"dnt": "1"}, {"sec-gpc": "1"}])
def test_dnt_and_gpc_are_not_tracked_in_off_mode(
    browser, flushed, settings, header, variant
):
    settings.ANALYTICS_PRIVATE_MODE = "off"
    browser.get("/", headers=header)
    browser.post(
        reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1}, headers=header
    )
    assert flushed() == []


def test_hashed_visitor_rotates_daily(settings):
    a = visitor_hash(ip="203.0.113.9", user_agent="UA", day="2026-03-01")
    b = visitor_hash(ip="203.0.113.9", user_agent="UA", day="2026-03-02")
    assert a != b and "203.0.113.9" not in a


def test_no_raw_ip_is_stored(browser, flushed):
    browser.get("/", headers={"dnt": "1"}, REMOTE_ADDR="198.51.100.77")
    [event] = flushed()
    row = Event.objects.filter(pk=event.pk).values().get()
    assert not any("198.51.100.77" in str(value) for value in row.values())


def test_consent_is_required_by_default(client, flushed, settings):
    settings.ANALYTICS_REQUIRE_CONSENT = True
    response = client.get("/")
    assert b"data-consent-banner" in response.content
    assert VISITOR_COOKIE not in response.cookies
    [event] = flushed()
    assert event.visitor_id.startswith("h-")


def test_accepting_consent_sets_a_visitor_cookie(client, flushed, settings):
    settings.ANALYTICS_REQUIRE_CONSENT = True
    response = client.post(
        reverse("analytics:consent"), {"choice": "accept", "next": "/cart/"}
    )
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert response.cookies[CONSENT_COOKIE].value == "granted"
    page = client.get("/")
    assert b"data-consent-banner" not in page.content
    assert VISITOR_COOKIE in page.cookies
    [event] = flushed()
    assert event.visitor_id == page.cookies[VISITOR_COOKIE].value


def test_declining_consent_drops_cookies_and_tracking(client, flushed, settings):
    settings.ANALYTICS_PRIVATE_MODE = "off"
    client.get("/")
    response = client.post(reverse("analytics:consent"), {"choice": "decline"})
    assert response.cookies[CONSENT_COOKIE].value == "denied"
    assert response.cookies[VISITOR_COOKIE].value == ""
    flushed()
    Event.objects.all().delete()
    client.get("/")
    assert flushed() == []


def test_consent_refuses_a_bad_choice_and_foreign_redirects(client):
    assert (
        client.post(reverse("analytics:consent"), {"choice": "maybe"}).status_code
        == 400
    )
    response = client.post(
        reverse("analytics:consent"),
        {"choice": "accept", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_sensitive_parameters_are_stripped_everywhere(browser, flushed, settings):
    settings.ANALYTICS_SENSITIVE_PARAMS = [
        *settings.ANALYTICS_SENSITIVE_PARAMS,
        "ref_code",
    ]
    browser.get(
        "/?password=hunter2&page=2&ref_code=abc&Email=x@y.z",
        headers={"referer": "https://mail.example/?token=t0k&id=3"},
    )
    [event] = flushed()
    assert event.path == "/?page=2"
    assert event.referrer == "https://mail.example/?id=3"
