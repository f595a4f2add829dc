import json
import time
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from analytics.models import Event
from analytics.tracking import ip_hash

pytestmark = pytest.mark.django_db

URL = "/analytics/collect"
ORIGIN = {"origin": "http://testserver"}


def event(**overrides):
    return {
        "event_id": str(uuid.uuid4()),
        "name": "click",
        "ts": int(time.time() * 1000),
        "path": "/cart/",
        "viewport": "1280x720",
        "properties": {"track": "checkout-button"},
        **overrides,
    }


def post(client, body, headers=ORIGIN):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(URL, data=data, content_type="text/plain", headers=headers)


def test_collect_accepts_a_batch(browser, flushed):
    batch = [event(), event(name="scroll", properties={"depth": 50})]
    response = post(browser, {"events": batch})
    assert response.status_code == 202 and response.json() == {"accepted": 2}
    stored = flushed()
    assert {e.name for e in stored} == {"click", "scroll"}
    click = next(e for e in stored if e.name == "click")
    assert str(click.event_id) == batch[0]["event_id"]
    assert click.client_time is not None
    assert (click.path, click.route, click.viewport) == (
        "/cart/",
        "shop:cart",
        "1280x720",
    )
    assert click.properties == {"track": "checkout-button"}


def test_the_same_event_twice_is_stored_once(browser, flushed):
    same = event()
    post(browser, {"events": [same]})
    post(browser, {"events": [same, same]})
    flushed()
    assert Event.objects.filter(event_id=same["event_id"]).count() == 1


def test_slightly_future_times_are_clamped(browser, flushed):
    post(browser, {"events": [event(ts=int(time.time() * 1000) + 120_000)]})
    [stored] = flushed()
    assert stored.client_time <= stored.occurred_at


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ([], 'one key, \\"events\\"'),
        (
            {
                "events": [],
            },
            "non-empty list",
        ),
        ({"events": "x"}, "non-empty list"),
        ({"events": [event()], "extra": 1}, "one key"),
        ({"events": [event() for _ in range(51)]}, "at most 50 events"),
        ({"events": ["x"]}, "events[0]: must be an object"),
        ({"events": [event(colour="red")]}, "unknown field 'colour'"),
        (
            {"events": [{k: v for k, v in event().items() if k != "ts"}]},
            "'ts' is required",
        ),
        ({"events": [event(event_id="nope")]}, "must be a UUID"),
        ({"events": [event(name="purchase")]}, "'name' must be one of"),
        ({"events": [event(name=["click"])]}, "'name' must be one of"),
        ({"events": [event(ts="yesterday")]}, "milliseconds since the epoch"),
        ({"events": [event(ts=True)]}, "milliseconds since the epoch"),
        ({"events": [event(ts=1e20)]}, "out of range"),
        ({"events": [event(ts=int(time.time() * 1000) + 3_600_000)]}, "in the future"),
        ({"events": [event(ts=1_000_000)]}, "too old"),
        ({"events": [event(path="https://evil.example/")]}, "'path' must be"),
        ({"events": [event(path="/" + "a" * 600)]}, "'path' must be"),
        ({"events": [event(viewport="huge")]}, "'viewport'"),
        ({"events": [event(properties=[1])]}, "'properties' must be"),
        (
            {"events": [event(properties={str(i): i for i in range(11)})]},
            "at most 10 keys",
        ),
        ({"events": [event(properties={"a": "x" * 201})]}, "over 200 characters"),
        (
            {"events": [event(properties={"a": {"nested": 1}})]},
            "string, number or boolean",
        ),
        (b"[" * 70_000, "over 64 KB"),
    ],
)
def test_bad_input_gets_a_400_saying_what_is_wrong(browser, flushed, body, message):
    response = post(browser, body)
    assert response.status_code == 400
    assert message.replace("\\", "") in response.json()["error"]
    assert flushed() == []


def test_other_origins_are_refused(browser, flushed):
    assert (
        post(
            browser, {"events": [event()]}, {"origin": "https://evil.example"}
        ).status_code
        == 403
    )
    assert post(browser, {"events": [event()]}, {"origin": "null"}).status_code == 403
    assert post(browser, {"events": [event()]}, {}).status_code == 403
    assert (
        post(
            browser, {"events": [event()]}, {"sec-fetch-site": "cross-site"}
        ).status_code
        == 403
    )
    assert (
        post(
            browser, {"events": [event()]}, {"sec-fetch-site": "same-origin"}
        ).status_code
        == 202
    )


def test_only_post_is_allowed(browser):
    assert browser.get(URL).status_code == 405


def test_floods_get_429_and_are_flagged_as_bots(browser, flushed, settings):
    settings.ANALYTICS_COLLECT_RATE = 3
    codes = [post(browser, {"events": [event()]}).status_code for _ in range(5)]
    assert codes == [202, 202, 202, 429, 429]
    assert all(not e.is_bot for e in flushed())


def test_a_flagged_client_is_recorded_as_a_bot(browser, flushed, settings):
    cache.set(f"analytics:flood:{ip_hash('127.0.0.1')}", 1)
    post(browser, {"events": [event()]})
    [stored] = flushed()
    assert stored.is_bot


def test_collect_is_exempt_from_csrf(client, flushed):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, {"events": [event()]}).status_code == 202
    assert reverse("analytics:collect") == URL


def test_poison_values_never_block_later_events(browser, flushed):
    # NUL bytes, lone surrogates and NaN are valid JSON for Python but
    # PostgreSQL refuses them; one such event must not stop the pipeline.
    raw = (
        '{"events": [{"event_id": "EID", "name": "click", "ts": TS, "path": "/a\\u0000b",'
        ' "viewport": "1x1", "properties": {"bad": NaN, "s": "\\ud800", "n\\u0000": 1}}]}'
    )
    raw = raw.replace("EID", str(uuid.uuid4())).replace(
        "TS", str(int(time.time() * 1000))
    )
    post(browser, raw)
    browser.get("/?utm_source=%00x")
    good = event()
    post(browser, {"events": [good]})

    stored = flushed()

    assert Event.objects.filter(event_id=good["event_id"]).exists()
    poisoned = next(e for e in stored if e.path.startswith("/ab"))
    assert "\x00" not in poisoned.path
    assert poisoned.properties == {"bad": None, "s": "?", "n": 1}
    assert Event.objects.filter(
        name="page_view", path__startswith="/?utm_source="
    ).exists()
