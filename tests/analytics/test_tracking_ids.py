"""tracking_ids: the visitor and session kept for events recorded later."""

from analytics import context
from analytics.services import TrackingIds, event_record, tracking_ids
from tests.analytics.conftest import MOBILE_UA


def _ids_for(rf, cookies: dict, **meta) -> TrackingIds:
    request = rf.get("/", HTTP_USER_AGENT=MOBILE_UA, **meta)
    request.COOKIES = cookies
    token = context.context_activate(context.TrackingContext(request))
    try:
        return tracking_ids()
    finally:
        context.context_deactivate(token)


def test_outside_a_request_there_are_none():
    assert tracking_ids() == TrackingIds("", "")


def test_a_going_session_is_read_from_its_cookie(browser, flushed, rf):
    browser.get("/")
    [view] = flushed()
    cookies = {key: morsel.value for key, morsel in browser.cookies.items()}

    # Within the minute, the request leaves the cookie as it is.
    ids = _ids_for(rf, cookies)

    assert ids == TrackingIds(view.visitor_id, view.session_id)


def test_a_cookieless_visitor_keeps_the_hash_and_no_session(rf):
    ids = _ids_for(rf, {}, HTTP_DNT="1")

    assert ids.visitor_id and ids.session_id == ""


def test_an_event_for_a_named_visitor_takes_nothing_from_the_request(
    browser, flushed, rf
):
    request = rf.get("/payments/hook/", HTTP_USER_AGENT=MOBILE_UA)
    token = context.context_activate(context.TrackingContext(request))
    try:
        event_record(name="purchase", visitor_id="shopper-1", session_id="s-1")
    finally:
        context.context_deactivate(token)

    [event] = flushed()
    assert (event.visitor_id, event.session_id) == ("shopper-1", "s-1")
    assert (event.path, event.device) == ("", "")
