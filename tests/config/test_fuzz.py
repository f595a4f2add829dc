"""
Generated requests, by the ten thousand, never get a 5xx.

Hypothesis builds requests to the forms and endpoints that take visitors'
input: the clickstream beacon, the cart, checkout, search and order lookup,
the dashboards' range parameters (as staff), each with hostile cookies and
headers: 10,500 requests, 3 a generated visitor. Marked slow (about two
minutes on two busy cores); CI runs it with the rest.
"""

import json
import os
import time
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

REQUESTS = int(os.environ.get("FUZZ_REQUESTS", 10_500))
# Each generated visitor (its cookies and headers) sends this many requests.
PER_VISITOR = 3

# Text a browser can send: anything but lone surrogates, NUL included.
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
# What a WSGI server can hand Django in a header or cookie: Latin-1.
header_text = st.text(st.characters(max_codepoint=255), max_size=20)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    text,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
    ),
    max_leaves=6,
)


@st.composite
def beacon_event(draw):
    event = {
        "event_id": draw(st.one_of(st.just(str(uuid.uuid4())), text)),
        "name": draw(st.sampled_from(["click", "scroll", "engaged", "buy"])),
        "ts": draw(
            st.one_of(
                st.just(int(time.time() * 1000)),
                st.integers(min_value=-(10**20), max_value=10**20),
                st.floats(),
            )
        ),
    }
    for key, values in (
        ("path", st.one_of(text, text.map(lambda t: "/" + t))),
        ("viewport", st.one_of(st.just("1280x720"), text)),
        ("properties", st.dictionaries(text, json_values, max_size=12)),
        ("extra", json_values),
    ):
        if draw(st.booleans()):
            event[key] = draw(values)
    return event


@st.composite
def collect_request(draw):
    body = draw(
        st.one_of(
            st.lists(beacon_event(), max_size=3).map(
                lambda events: json.dumps({"events": events}).encode()
            ),
            json_values.map(lambda value: json.dumps(value).encode()),
            st.binary(max_size=200),
        )
    )
    return ("post", "/analytics/collect", body, "application/json")


def form_request(method: str, path, fields: dict):
    return st.tuples(
        st.just(method),
        path,
        st.fixed_dictionaries({}, optional=fields),
        st.just(None),
    )


line_paths = st.integers(min_value=0, max_value=10**25).map(
    lambda n: f"/cart/lines/{n}/"
)
requests = st.one_of(
    collect_request(),
    form_request(
        "post", st.just("/cart/add/"), {"variant": numbers, "quantity": numbers}
    ),
    form_request("post", line_paths, {"quantity": numbers}),
    form_request("post", line_paths.map(lambda p: p + "remove/"), {}),
    form_request(
        "post",
        st.just("/checkout/"),
        {
            "checkout_token": text,
            "email": text,
            "full_name": text,
            "line1": text,
            "postcode": text,
            "country": text,
            "shipping_method": text,
            "payment_method": text,
        },
    ),
    form_request(
        "get",
        st.just("/search/"),
        {
            "q": text,
            "page": numbers,
            "sort": text,
            "min_price": numbers,
            "max_price": numbers,
            "in_stock": text,
            "utm_source": text,
        },
    ),
    form_request("post", st.just("/orders/find/"), {"number": text, "email": text}),
    form_request(
        "get",
        st.sampled_from(["/dashboard/", "/dashboard/sales/", "/dashboard/search/"]),
        {
            "range": st.one_of(st.just("custom"), text),
            "start": st.one_of(st.dates().map(str), text),
            "end": st.one_of(st.dates().map(str), text),
            "compare": text,
            "export": text,
        },
    ),
)
cookies = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        ("sessionid", "nw_sess", "nw_vid", "nw_consent", "messages"), header_text
    ),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_REFERER": st.one_of(st.just("http://[x/"), header_text),
        "HTTP_USER_AGENT": header_text,
        "HTTP_ACCEPT_LANGUAGE": header_text,
        "HTTP_DNT": header_text,
        "HTTP_X_FORWARDED_FOR": header_text,
    },
)


def test_generated_requests_never_get_a_5xx(settings_, product, staff_user):
    anonymous, staff = Client(), Client()
    staff.force_login(staff_user)
    staff_session = staff.cookies[settings_.SESSION_COOKIE_NAME].value
    sent = []

    @settings(
        max_examples=REQUESTS // PER_VISITOR,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        visit=st.lists(requests, min_size=PER_VISITOR, max_size=PER_VISITOR),
        cookies=cookies,
        headers=headers,
    )
    def check(visit, cookies, headers):
        for method, path, data, content_type in visit:
            client = staff if path.startswith("/dashboard/") else anonymous
            client.cookies.clear()
            if client is staff:
                client.cookies[settings_.SESSION_COOKIE_NAME] = staff_session
            for name, value in cookies.items():
                client.cookies[name] = value
            kwargs = {"HTTP_ORIGIN": "http://testserver", **headers}
            if content_type:
                kwargs["content_type"] = content_type
            started = time.perf_counter()
            response = getattr(client, method)(path, data, **kwargs)
            sent.append((path, time.perf_counter() - started))
            assert response.status_code < 500, (method, path, data, cookies, headers)

    check()
    print(f"\n{len(sent)} generated requests, none answered 5xx")
    if os.environ.get("FUZZ_TIMINGS"):
        by_path = {}
        for path, seconds in sent:
            by_path.setdefault(path.split("/")[1], []).append(seconds)
        for name, times in sorted(by_path.items()):
            print(
                f"{name}: {len(times)} requests, {sum(times) / len(times) * 1000:.1f} ms"
            )
    assert len(sent) >= min(REQUESTS - PER_VISITOR, 10_000)


@pytest.fixture
def settings_(settings):
    # Coverage, not the flood guard: the beacon's rate limit stays out of
    # the way, and the dashboards' staff session stays signed in.
    settings.ANALYTICS_COLLECT_RATE = 10**9
    return settings
