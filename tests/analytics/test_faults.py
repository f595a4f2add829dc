"""
Events are never lost silently: one sink's trouble never delays another's,
a bad value costs only its field, every event not written is counted with a
reason, and what cannot be written at shutdown waits in a file for the next
start.
"""

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest

from analytics.context import RequestFacts
from analytics.services import (
    Recorder,
    TrackedEvent,
    analytics_health,
    event_record,
    recorder_reset,
)
from analytics.totals import totals_read

pytestmark = pytest.mark.django_db


class HungSink:
    """A Firehose that never answers (until released)."""

    def __init__(self):
        self.release = threading.Event()

    def write(self, events):
        self.release.wait(30)
        raise TimeoutError("Firehose did not answer")


class ListSink:
    def __init__(self):
        self.written = []

    def write(self, events):
        self.written.extend(events)


class DownSink:
    def write(self, events):
        raise ConnectionError("sink is down")


def _event(name="t", **columns):
    return TrackedEvent(
        name, {"event_id": uuid.uuid4(), "occurred_at": datetime.now(UTC), **columns}
    )


def test_a_hung_sink_never_delays_another():
    hung, fine = HungSink(), ListSink()
    recorder = Recorder(sinks=[hung, fine], background=True, batch_size=5, interval=30)
    recorder._under_test = lambda: False
    try:
        for _ in range(5):
            recorder.add(_event())
        deadline = time.monotonic() + 5
        while len(fine.written) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(fine.written) == 5  # while the other sink hangs
    finally:
        hung.release.set()
        recorder.shutdown(timeout=2)


def test_events_a_hung_sink_holds_at_shutdown_are_spilled():
    hung = HungSink()
    recorder = Recorder(sinks=[hung], background=True, batch_size=3, interval=30)
    recorder._under_test = lambda: False
    for _ in range(3):
        recorder.add(_event())
    deadline = time.monotonic() + 5
    while not recorder.sinks[0].inflight and time.monotonic() < deadline:
        time.sleep(0.02)
    recorder.shutdown(timeout=0.2)  # the write still hangs
    hung.release.set()

    class HungSinkBack(ListSink):
        pass

    HungSinkBack.__name__ = "HungSink"
    sink = HungSinkBack()
    Recorder(sinks=[sink], background=False).flush()
    assert len(sink.written) == 3


def test_a_bad_referrer_costs_only_that_field(recorder):
    facts = RequestFacts("Mozilla/5.0", "http://[x/?utm_source=a", "en", "GB")
    for host in (None, "shop.example"):
        recorder.add(
            TrackedEvent(
                "page_view",
                {"path": "/p/?q=[x", "event_id": "not-a-uuid"},
                time.time(),
                facts._replace(host=host),
            )
        )
    recorder.add(_event())
    sink = ListSink()
    recorder._sinks = Recorder(sinks=[sink]).sinks
    recorder.flush()
    assert len(sink.written) == 3
    assert analytics_health()["dropped"] == 0
    row = sink.written[0]
    assert row["referrer"] == "http://[x/"  # its query could not be read
    assert uuid.UUID(row["event_id"]).version == 7  # a new ID for a bad one


def test_every_event_not_written_is_counted_with_a_reason():
    class Picky(ListSink):
        def write(self, events):
            if any(e["route"] == "poison" for e in events):
                raise ValueError("refused")
            super().write(events)

    recorder = Recorder(sinks=[Picky()], background=False, max_events=3)
    for i in range(5):
        recorder.add(_event(route="poison" if i == 4 else "ok"))
    recorder.flush()
    stats = recorder.stats()
    # Two pushed out of the full buffer, one refused by the sink.
    assert stats["dropped_by_reason"] == {"buffer_full": 2, "refused": 1}
    assert stats["dropped"] == 3


def test_unwritten_events_are_spilled_at_shutdown_and_written_at_the_next_start():
    down = Recorder(sinks=[DownSink()], background=False)
    for _ in range(4):
        down.add(_event(value="1.50"))
    down.flush()  # the sink is down: kept for retry
    down.shutdown()
    assert down.stats()["sinks"]["DownSink"]["retrying"] == 0

    class DownSink2(ListSink):  # the same sink, back up, in the next process
        pass

    DownSink2.__name__ = "DownSink"
    sink = DownSink2()
    restarted = Recorder(sinks=[sink], background=False)
    restarted.flush()
    assert len(sink.written) == 4
    assert str(sink.written[0]["value"]) == "1.50"
    assert sink.written[0]["occurred_at"].tzinfo is not None
    assert Recorder(sinks=[ListSink()], background=False).flush() == 0  # once only


def test_health_shows_the_totals_of_every_process():
    first, second = ListSink(), ListSink()
    for sink in (first, second):  # two workers, one after the other
        worker = recorder_reset(recorder=Recorder(sinks=[sink], background=False))
        for _ in range(3):
            worker.add(_event())
        worker.flush()
    totals = totals_read()
    assert totals["recorded"] == 6
    assert totals["ListSink:written"] == 6
    assert analytics_health()["totals"]["recorded"] == 6


def test_a_request_with_a_bad_referer_records_its_page_view(client, flushed, product):
    response = client.get(
        product.get_absolute_url(), HTTP_REFERER="http://[x/?utm_source=q"
    )
    assert response.status_code == 200
    names = [e.name for e in flushed()]
    assert "page_view" in names
    assert analytics_health()["errors"] == 0


def test_a_bad_column_value_costs_only_that_field(recorder, flushed):
    event_record(
        name="add_to_cart", product_id="not a number", variant_id=10**30, order_id="7"
    )
    [event] = flushed()
    assert (event.product_id, event.variant_id, event.order_id) == (None, None, 7)
    assert analytics_health()["dropped"] == 0
