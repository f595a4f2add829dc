import gzip
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.context import RequestFacts
from analytics.models import Event
from analytics.services import (
    Recorder,
    TrackedEvent,
    connections_release,
    event_ids,
    events_prepare,
)
from analytics.sinks import (
    COLUMNS,
    DatabaseSink,
    FirehoseSink,
    S3Sink,
    SinkError,
    event_json,
    event_row,
    events_copy,
)

KEY = re.compile(
    r"^clickstream/dt=\d{4}-\d{2}-\d{2}/hour=\d{2}/[0-9a-f-]{36}\.jsonl\.gz$"
)


def tracked_events(n, *, at=None, name="page_view", **extra):
    at = at or datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    return [
        TrackedEvent(
            name,
            {
                "event_id": uuid.uuid4(),
                "occurred_at": at + timedelta(seconds=i),
                "path": f"/p/{i}",
                "session_id": "s1",
                "visitor_id": "v1",
                "value": Decimal("1.50"),
                **extra,
            },
        )
        for i in range(n)
    ]


def make_events(n, **kwargs):
    """`n` events as the sinks get them."""
    return events_prepare(tracked_events(n, **kwargs))


@pytest.fixture
def bucket(aws):
    name = f"clicks-{uuid.uuid4().hex[:8]}"
    aws("s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
    )
    return name


def read_objects(client, bucket, prefix="clickstream/"):
    listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    out = {}
    for item in listing:
        body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        out[item["Key"]] = [
            json.loads(line) for line in gzip.decompress(body).splitlines()
        ]
    return out


def test_s3_sink_writes_gzip_json_lines_partitioned_by_hour(aws, bucket):
    events = make_events(3) + make_events(2, at=datetime(2026, 3, 1, 11, 5, tzinfo=UTC))
    S3Sink(bucket=bucket).write(events)
    objects = read_objects(aws("s3"), bucket)
    assert len(objects) == 2
    assert all(KEY.match(k) for k in objects)
    by_hour = {k.split("/")[2]: v for k, v in objects.items()}
    assert [len(by_hour["hour=10"]), len(by_hour["hour=11"])] == [3, 2]
    row = by_hour["hour=10"][0]
    assert row["event_id"] == str(events[0]["event_id"])
    # The Hive JSON SerDe's forms (analytics.jsonlines): UTC timestamp text,
    # a decimal as a JSON number, JSON as its text.
    assert row["occurred_at"] == "2026-03-01 10:15:00.000000"
    assert row["value"] == 1.5
    assert json.loads(row["properties"]) == events[0]["properties"]
    assert "dt=2026-03-01" in next(iter(objects))


def test_s3_sink_failure_is_counted_and_events_kept(aws, settings):
    sink = S3Sink(bucket="no-such-bucket-anywhere")
    recorder = Recorder(sinks=[sink], background=False, max_events=3)
    for event in tracked_events(5):
        recorder.add(event)
    recorder.flush()
    stats = recorder.stats()
    assert stats["errors"] == 1
    assert stats["sinks"]["S3Sink"]["retrying"] == 3  # newest kept, up to the bound
    assert stats["dropped"] == 2


@pytest.fixture
def stream(aws, bucket):
    name = f"clicks-{uuid.uuid4().hex[:8]}"
    aws("firehose").create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{bucket}",
            "Prefix": "firehose/",
        },
    )
    return name


def test_firehose_sink_splits_batches_within_limits(aws, bucket, stream):
    events = make_events(1100)
    sink = FirehoseSink(stream=stream)
    assert [len(b) for b in sink.batches(events)] == [500, 500, 100]
    assert sink.write(events) == 3
    delivered = []
    for item in aws("s3").list_objects_v2(Bucket=bucket, Prefix="firehose/")[
        "Contents"
    ]:
        body = aws("s3").get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        delivered += [json.loads(line) for line in body.splitlines() if line.strip()]
    assert len(delivered) == 1100
    assert {d["event_id"] for d in delivered} == {str(e["event_id"]) for e in events}


def test_firehose_batches_respect_the_byte_limit():
    big = {"blob": "x" * 1500}
    events = make_events(3000, properties=big)
    sizes = []
    for batch in FirehoseSink(stream="s", retries=0).batches(events):
        assert len(batch) <= 500
        sizes.append(sum(len(data) for _, data in batch))
    assert all(size <= 4 * 1024 * 1024 for size in sizes)


class PartlyFailing:
    """
    moto never reports per-record failures, so this wraps the real client
    and marks the first two records of the first call as throttled, the
    way Firehose does under load. Everything else goes to moto over HTTP.
    """

    def __init__(self, client):
        self.client = client
        self.calls = []

    def put_record_batch(self, **kwargs):
        self.calls.append(len(kwargs["Records"]))
        response = self.client.put_record_batch(**kwargs)
        if len(self.calls) == 1:
            for result in response["RequestResponses"][:2]:
                result.clear()
                result["ErrorCode"] = "ServiceUnavailableException"
            response["FailedPutCount"] = 2
        return response


def test_firehose_retries_only_the_failed_records(aws, stream):
    client = PartlyFailing(aws("firehose"))
    FirehoseSink(stream=stream, client=client).write(make_events(10))
    assert client.calls == [10, 2]


def test_firehose_gives_back_records_that_keep_failing(aws):
    sink = FirehoseSink(stream="no-such-stream", retries=1)
    with pytest.raises(SinkError, match="Firehose kept failing") as info:
        sink.write(make_events(4))
    assert len(info.value.failed) == 4


def test_database_sink_stores_the_time_the_other_sinks_see(db):
    # Server events carry the epoch time; the row's datetime and the text
    # COPY writes are made apart, and must name the same microsecond.
    stamps = [1772359200.0, 1772359200.9999996, 1772359259.123456, time.time()]
    prepared = events_prepare([TrackedEvent("page_view", at=ts) for ts in stamps])
    DatabaseSink().write(prepared)
    stored = dict(Event.objects.values_list("event_id", "occurred_at"))
    for ts, event in zip(stamps, prepared, strict=True):
        at = event["occurred_at"]
        assert abs(at.timestamp() - ts) < 1e-6
        assert stored[uuid.UUID(event["event_id"])] == at
        assert json.loads(event_json(event))["occurred_at"] == (
            at.isoformat().replace("+00:00", "Z")
        )


def test_database_sink_stores_awkward_values_faithfully(db):
    client_time = datetime(2026, 3, 1, 10, 14, 59, 250000, tzinfo=UTC)
    [event] = make_events(
        1,
        name="search",
        path="/search/?q=rain+coat",
        utm_term='a,"b"\tc\\d',
        referrer="https://example.com/é?x=1\n2",
        client_time=client_time,
        user_id=7,
        product_id=12,
        variant_id=None,
        is_bot=True,
        properties={"query": 'rain "coat", \\ \n', "results": 3, "ok": True},
    )
    DatabaseSink().write([event])
    stored = Event.objects.get()
    assert str(stored.event_id) == event["event_id"]
    assert stored.path == event["path"]
    assert stored.utm_term == 'a,"b"\tc\\d'
    assert stored.referrer == "https://example.com/é?x=1\n2"
    assert stored.occurred_at == event["occurred_at"]
    assert stored.client_time == client_time
    assert (stored.user_id, stored.product_id, stored.variant_id) == (7, 12, None)
    assert stored.order_id is None and stored.status_code is None
    assert stored.value == Decimal("1.50")
    assert stored.is_bot is True
    assert stored.properties == {
        "query": 'rain "coat", \\ \n',
        "results": 3,
        "ok": True,
    }
    assert stored.utm_content == ""


def test_database_sink_drops_duplicates_within_and_across_batches(db):
    sink = DatabaseSink()
    first = make_events(3)
    sink.write(first)
    again = make_events(2)
    # A retried event, and one that appears twice in the same batch.
    sink.write([dict(first[0]), again[0], dict(again[0]), again[1]])
    ids = list(Event.objects.values_list("event_id", flat=True))
    assert len(ids) == 5
    assert {str(i) for i in ids} == {e["event_id"] for e in [*first, *again]}
    # The table still takes new batches after a refused COPY.
    sink.write(make_events(2))
    assert Event.objects.count() == 7


def test_event_ids_drawn_by_the_flusher_are_time_ordered_uuid7():
    first = event_ids(500)
    time.sleep(0.002)  # the next millisecond
    second = event_ids(500)
    ids = [uuid.UUID(text) for text in first + second]
    # Canonical text: what str() of the UUID gives, and what is stored.
    assert [str(u) for u in ids] == first + second
    assert len(set(ids)) == 1000
    assert {u.version for u in ids} == {7}
    assert {u.variant for u in ids} == {uuid.RFC_4122}
    # The first 48 bits are the Unix time in milliseconds.
    now_ms = time.time_ns() // 1_000_000
    assert all(0 <= now_ms - (u.int >> 80) < 5_000 for u in ids)
    # 74 random bits: the variant digit's two free bits, and rand_a, vary.
    assert {u.int >> 60 & 0b11 for u in ids} == {0, 1, 2, 3}
    assert len({u.int >> 64 & 0xFFF for u in ids}) > 800
    # A later batch sorts after an earlier one, as the index sees them.
    assert max(ids[:500]) < min(ids[500:])
    assert max(first) < min(second)  # the same order as text


def test_prepare_draws_missing_event_ids_and_keeps_given_ones():
    given = uuid.uuid4()
    prepared = events_prepare(
        [
            TrackedEvent("a", {"occurred_at": datetime.now(UTC)}),
            TrackedEvent(
                "b", {"occurred_at": datetime.now(UTC), "event_id": str(given)}
            ),
        ]
    )
    assert uuid.UUID(prepared[0]["event_id"]).version == 7
    assert prepared[1]["event_id"] == str(given)


@pytest.mark.postgres  # a database server's connection; SQLite's is a file
@pytest.mark.django_db(transaction=True)
def test_the_flusher_keeps_its_connection_until_it_breaks(settings):
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
    connection.ensure_connection()
    raw = connection.connection
    connections_release()
    assert connection.connection is raw  # kept for the next flush
    # It dies between flushes, unnoticed: the next use checks it first.
    raw.close()
    connections_release()
    with connection.cursor() as cursor:  # as the next flush's COPY does
        cursor.execute("SELECT 1")
    assert connection.connection is not raw
    # A flush that failed on a broken connection closes it at once.
    raw = connection.connection
    raw.close()
    connection.errors_occurred = True
    connections_release()
    assert connection.connection is None


@pytest.mark.postgres  # COPY and synchronous_commit are PostgreSQL's
def test_live_events_do_not_wait_for_the_disk_but_bulk_loads_do(db):
    with CaptureQueriesContext(connection) as live:
        DatabaseSink().write(make_events(3))
    assert any("synchronous_commit TO OFF" in q["sql"] for q in live.captured_queries)
    with CaptureQueriesContext(connection) as bulk:  # rows, as seed_demo loads them
        events_copy(rows=[event_row(e) for e in make_events(2)])
    assert not any("synchronous_commit" in q["sql"] for q in bulk.captured_queries)
    assert Event.objects.count() == 5


def test_sinks_get_rows_of_event_columns_and_nothing_else():
    facts = RequestFacts(
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0",
        "https://www.example.org/?token=t",
        "fr-FR,fr;q=0.9",
        "fr",
        session_cookie=f"s=abc&t={int(time.time())}&ch=social&src=fb&med=&cmp=&ref=",
    )
    [row] = events_prepare(
        [TrackedEvent("page_view", {"visitor_id": "v"}, time.time(), facts)]
    )
    assert set(row) == set(COLUMNS)
    assert (row["session_id"], row["channel"], row["utm_source"]) == (
        "abc",
        "social",
        "fb",
    )
    assert (row["referrer"], row["language"], row["country"]) == (
        "https://www.example.org/",
        "fr-FR",
        "FR",
    )
    assert (row["device"], row["browser"]) == ("desktop", "Firefox")


def test_a_tracked_event_holds_only_its_declared_fields():
    event = TrackedEvent("page_view")
    assert (event.columns, event.at, event.request) == ({}, None, None)
    with pytest.raises(AttributeError, match="_ua"):
        event._ua = "Mozilla/5.0"  # slotted: no protocol of private keys
