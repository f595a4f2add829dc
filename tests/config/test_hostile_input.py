"""
No input gives a 500: each request here once did, and now gets a 4xx or
its page.
"""

import json
import time
import uuid

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

SAME_ORIGIN = {"HTTP_ORIGIN": "http://testserver"}


def _collect(body) -> dict:
    data = body if isinstance(body, bytes) else body.encode()
    return {
        "path": "/analytics/collect",
        "data": data,
        "content_type": "application/json",
        **SAME_ORIGIN,
    }


def _event(**fields) -> str:
    event = {
        "event_id": str(uuid.uuid4()),
        "name": "click",
        "ts": int(time.time() * 1000),
        **fields,
    }
    return json.dumps({"events": [event]})


CASES = {
    "collect: JSON nested 5,000 deep": (
        "post",
        _collect('{"events": ' + "[" * 5000 + "]" * 5000 + "}"),
    ),
    "collect: JSON nested 30,000 deep": (
        "post",
        _collect('{"events": ' + "[" * 30000 + "]" * 30000 + "}"),
    ),
    "collect: an integer of 5,000 digits": (
        "post",
        _collect('{"events": [{"ts": ' + "9" * 5000 + "}]}"),
    ),
    "collect: an event path of //[x": ("post", _collect(_event(path="//[x"))),
    "collect: a Referer of http://[x/": (
        "post",
        {**_collect(_event()), "HTTP_REFERER": "http://[x/"},
    ),
    "checkout: a token of NUL": (
        "post",
        {"path": "/checkout/", "data": {"checkout_token": "\x00"}},
    ),
    "orders/find: NUL in every field": (
        "post",
        {"path": "/orders/find/", "data": {"number": "\x00", "email": "a\x00@b.c"}},
    ),
    "search: NUL and a bad page": (
        "get",
        {"path": "/search/", "data": {"q": "a\x00", "page": "\x00", "sort": "\x00"}},
    ),
    "a page with a Referer of http://[x/": (
        "get",
        {"path": "/", "HTTP_REFERER": "http://[x/?utm_source=x"},
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_hostile_requests_get_no_500(case):
    method, kwargs = CASES[case]
    response = getattr(Client(), method)(**kwargs)
    assert response.status_code < 500


@pytest.mark.parametrize(
    "cookie",
    [settings.SESSION_COOKIE_NAME, "nw_sess", "nw_vid", "csrftoken", "messages"],
)
def test_a_cookie_holding_a_nul_byte_gets_no_500(cookie):
    client = Client()
    client.cookies[cookie] = "abcdefgh\x00ijklmnop"
    assert client.get("/").status_code < 500
    assert client.get("/cart/").status_code < 500


@pytest.mark.parametrize(
    "query",
    [
        "range=custom&start=0001-01-01&end=0001-01-02",
        "range=custom&start=9999-12-30&end=9999-12-31",
        "range=custom&start=0001-01-01&end=9999-12-31",
    ],
)
def test_dashboard_ranges_at_the_calendars_ends_get_no_500(client, staff_user, query):
    client.force_login(staff_user)
    for page in ("/dashboard/", "/dashboard/sales/"):
        assert client.get(f"{page}?{query}").status_code < 500
