"""Analytics must never slow or break the shop, whatever its sinks do."""

import os
import threading
import time
import uuid
import warnings
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.urls import reverse

from analytics.models import Event
from analytics.services import (
    Recorder,
    TrackedEvent,
    analytics_health,
    event_record,
    events_flush,
    recorder_reset,
)
from shop.models import Order

pytestmark = pytest.mark.django_db


class ExplodingSink:
    def write(self, events):
        raise ConnectionError("sink is down")


class SlowSink:
    def __init__(self, delay=0.05):
        self.batches = []
        self.delay = delay

    def write(self, events):
        time.sleep(self.delay)
        self.batches.append(len(events))


def shop_journey(client, product, variant):
    pages = [
        client.get(path) for path in ("/", product.get_absolute_url(), "/search/?q=mug")
    ]
    assert [p.status_code for p in pages] == [200, 200, 200]
    added = client.post(
        reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1}
    )
    assert added.status_code == 302
    assert client.get(reverse("shop:cart")).status_code == 200
    form = client.get(reverse("shop:checkout"))
    assert form.status_code == 200
    placed = client.post(
        reverse("shop:checkout"),
        {
            "email": "ada@example.com",
            "full_name": "Ada Buyer",
            "address_line1": "1 High Street",
            "city": "London",
            "postcode": "N1 1AA",
            "country": "GB",
            "shipping_method": "standard",
            "payment_method": "cod",
            "checkout_token": form.context["form"].initial["checkout_token"],
        },
    )
    assert placed.status_code == 302, placed.content[:500]
    assert Order.objects.filter(email="ada@example.com").exists()
    assert client.get(placed["Location"]).status_code == 200


def test_shop_works_when_the_sink_raises(
    browser, product, variant, django_capture_on_commit_callbacks
):
    recorder_reset(recorder=Recorder(sinks=[ExplodingSink()], background=False))
    with django_capture_on_commit_callbacks(execute=True):
        shop_journey(browser, product, variant)
    events_flush()
    health = analytics_health()
    assert health["errors"] == 1
    assert health["sinks"]["ExplodingSink"]["retrying"] >= 8
    body = browser.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["analytics"]["errors"] == 1


def test_shop_works_when_the_events_table_is_gone(
    browser, product, variant, django_capture_on_commit_callbacks
):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE analytics_event RENAME TO analytics_event_gone")
    with django_capture_on_commit_callbacks(execute=True):
        shop_journey(browser, product, variant)
    events_flush()
    stats = analytics_health()
    assert stats["sinks"]["DatabaseSink"]["errors"] == 1
    assert "analytics_event" in stats["sinks"]["DatabaseSink"]["last_error"]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE analytics_event_gone RENAME TO analytics_event")
    events_flush()  # the retry queue drains once the table is back
    names = set(Event.objects.values_list("name", flat=True))
    assert {
        "page_view",
        "product_view",
        "search",
        "add_to_cart",
        "begin_checkout",
        "purchase",
    } <= names


def test_recording_never_raises_into_the_caller(settings):
    recorder_reset(recorder=None)
    settings.ANALYTICS_SINKS = ["analytics.sinks.NoSuchSink"]
    event_record(name="x", properties=object())  # unserialisable, bad sink path
    assert analytics_health()["error"] == "ImportError"  # reported, not raised


def test_a_full_buffer_keeps_the_newest_and_counts_drops():
    recorder = Recorder(sinks=[SlowSink()], background=False, max_events=5)
    for i in range(8):
        recorder.add(TrackedEvent(f"e{i}"))
    assert [e.name for e in recorder.buffer] == ["e3", "e4", "e5", "e6", "e7"]
    assert recorder.stats()["dropped"] == 3


def test_the_background_flusher_writes_by_size_and_at_shutdown():
    sink = SlowSink(delay=0.5)
    recorder = Recorder(
        sinks=[sink], background=True, batch_size=10, interval=30, max_events=100
    )
    recorder._under_test = lambda: False  # this test is about the thread itself

    def one():
        return TrackedEvent(
            "t", {"event_id": uuid.uuid4(), "occurred_at": datetime.now(UTC)}
        )

    started = time.perf_counter()
    for _ in range(10):
        recorder.add(one())
    # Adding never waits for the sink (a write takes 0.5 s); the margin
    # absorbs starting the thread on a loaded machine.
    assert time.perf_counter() - started < 0.25
    for _ in range(100):
        if sink.batches:
            break
        time.sleep(0.02)
    assert sink.batches == [10]  # woken by size, long before the 30 s interval
    recorder.add(one())
    recorder.shutdown()
    assert sink.batches == [10, 1]
    assert not recorder._thread.is_alive()
    assert recorder._thread.name == "analytics-flusher"
    assert threading.current_thread() is not recorder._thread


class PickySink:
    """Refuses any batch holding a poisoned event, as PostgreSQL would."""

    def __init__(self):
        self.written = []

    def write(self, events):
        if any(e.get("route") == "poison" for e in events):
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        self.written.extend(events)


def test_a_refused_event_is_dropped_and_the_rest_written():
    sink = PickySink()
    recorder = Recorder(sinks=[sink], background=False, max_events=100)
    for i in range(9):
        recorder.add(
            TrackedEvent(
                "t",
                {
                    "event_id": uuid.uuid4(),
                    "occurred_at": datetime.now(UTC),
                    "route": "poison" if i == 4 else "ok",
                },
            )
        )
    recorder.flush()

    assert len(sink.written) == 8
    stats = recorder.stats()["sinks"]
    [state] = stats.values()
    assert (state["rejected"], state["retrying"]) == (1, 0)


def test_a_forked_worker_starts_a_flusher_of_its_own():
    # gunicorn forks its workers: threads do not survive a fork, so each
    # child must start its own flusher rather than trust the parent's.
    sink = SlowSink()
    recorder = recorder_reset(
        recorder=Recorder(sinks=[sink], background=True, interval=30, max_events=10)
    )
    recorder._under_test = lambda: False
    recorder.add(TrackedEvent("before"))
    parent_thread = recorder._thread
    assert parent_thread.is_alive()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
        pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return
        code = 1
        try:
            fresh = recorder._pid is None and recorder._thread is None
            recorder.add(TrackedEvent("in child"))
            started = recorder._thread is not None and recorder._thread.is_alive()
            code = 0 if fresh and started and recorder._pid == os.getpid() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert recorder._thread is parent_thread  # the parent's is untouched
    recorder.shutdown()
