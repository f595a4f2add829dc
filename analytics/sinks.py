"""
Where batches of events go. ANALYTICS_SINKS names one or more of these by
dotted path; each has `write(events: list[dict]) -> None` and raises on
failure (optionally a `SinkError` carrying only the events that failed).

Events arrive as rows prepared by `services.events_prepare`: one dict of
every Event column (`COLUMNS`) an event, with `event_id` a UUID in canonical
text form, aware datetimes and Decimal `value`.
"""

import csv
import gzip
import io
import itertools
import json
import logging
import operator
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connections, transaction

from config.aws import aws_client

from .jsonlines import json_keys, json_line
from .models import Event

logger = logging.getLogger(__name__)

COLUMNS = (
    "event_id",
    "name",
    "occurred_at",
    "client_time",
    "visitor_id",
    "session_id",
    "user_id",
    "path",
    "route",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "channel",
    "product_id",
    "variant_id",
    "order_id",
    "value",
    "currency",
    "device",
    "browser",
    "os",
    "language",
    "viewport",
    "country",
    "status_code",
    "duration_ms",
    "is_bot",
    "properties",
)
DEFAULTS = {
    "client_time": None,
    "user_id": None,
    "product_id": None,
    "variant_id": None,
    "order_id": None,
    "value": None,
    "status_code": None,
    "duration_ms": None,
    "is_bot": False,
    "properties": {},
}


class SinkError(Exception):
    """A sink wrote some events; `failed` are the ones to retry."""

    def __init__(self, message: str, *, failed: list[dict]):
        super().__init__(message)
        self.failed = failed


# Every column, blank: what an event does not set.
BLANK_ROW = {c: DEFAULTS.get(c, "") for c in COLUMNS}


def event_row(event: dict) -> tuple:
    return tuple(event.get(c, BLANK_ROW[c]) for c in COLUMNS)


def _json_default(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(type(value).__name__)


def event_json(event: dict) -> str:
    """
    One event as a JSON line: ISO-8601 UTC times, money as a decimal string
    (the spill file's form; the S3 and Firehose sinks write ``event_line``).
    """
    return json.dumps(
        {c: event.get(c, BLANK_ROW[c]) for c in COLUMNS},
        default=_json_default,
        separators=(",", ":"),
    )


_EVENT_KEYS = json_keys(COLUMNS)


def event_line(event: dict) -> str:
    """One event as the clickstream table's JSON line (``analytics.jsonlines``)."""
    return json_line(_EVENT_KEYS, event_row(event))


class DatabaseSink:
    """
    Batched inserts into analytics_event; duplicates of event_id are dropped.

    On PostgreSQL the batch is COPYed into the table (see `events_copy`);
    elsewhere it is a bulk_create.
    """

    using = "default"

    def write(self, events: list[dict]) -> None:
        if not events:
            return
        connection = connections[self.using]
        if connection.vendor == "postgresql":
            events_copy(events=events, using=self.using)
        else:
            Event.objects.using(self.using).bulk_create(
                [
                    Event(**dict(zip(COLUMNS, event_row(e), strict=True)))
                    for e in events
                ],
                batch_size=500,
                ignore_conflicts=True,
            )


# COPY payloads for events, in PostgreSQL's text format, one line per event
# built with C-level joins. Prepared events hold str in every text column and
# a canonical text `event_id`. The rest are formatted with str(), which gives
# valid input for a datetime, int, Decimal or bool; None becomes \\N by
# replacing "None", which no value of theirs contains. `properties` is the
# only JSON column.
TEXT_COLUMNS = tuple(
    c for c in COLUMNS if c not in DEFAULTS and c not in ("event_id", "occurred_at")
)
OTHER_COLUMNS = tuple(c for c in DEFAULTS if c != "properties")
COPY_COLUMNS = ("event_id", "occurred_at", *TEXT_COLUMNS, *OTHER_COLUMNS, "properties")
_texts = operator.itemgetter(*TEXT_COLUMNS)
_others = operator.itemgetter(*OTHER_COLUMNS)
_json_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode
_TEXT_TABS = len(TEXT_COLUMNS) - 1
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_CHUNK = 1 << 20


def _escaped_line(event: dict) -> str:
    """The slow path: values that hold tabs, newlines or backslashes, or no str."""
    event = {**BLANK_ROW, **event}
    props = event["properties"]
    values = [
        *(str(event[c]).translate(_ESCAPES) for c in ("event_id", "occurred_at")),
        *(str(v).translate(_ESCAPES) for v in _texts(event)),
        *("\\N" if v is None else str(v) for v in _others(event)),
        (_json_encode(props) if props else "{}").translate(_ESCAPES),
    ]
    return "\t".join(values) + "\n"


def _copy_time(at: datetime, seconds: dict) -> str:
    """The COPY text of `at`, its second's text memoised in `seconds`."""
    if at.tzinfo is not UTC:
        return str(at)
    # A batch spans a few seconds: this saves ~0.5 µs an event over str().
    key = (at.year, at.month, at.day, at.hour, at.minute, at.second)
    second = seconds.get(key)
    if second is None:
        second = seconds[key] = f"{at:%Y-%m-%d %H:%M:%S}"
    return f"{second}.{at.microsecond:06d}+00"


def _copy_lines(events):
    texts, others, encode = _texts, _others, _json_encode
    join, tabs, seconds = "\t".join, _TEXT_TABS, {}
    for event in events:
        try:  # prepared events hold every column
            text = join(texts(event))
            nulls = join(map(str, others(event))).replace("None", "\\N")
            props = event["properties"]
            at = _copy_time(event["occurred_at"], seconds)
            event_id = event["event_id"]
        except (KeyError, TypeError):  # a column missing, or text that is not str
            yield _escaped_line(event)
            continue
        tail = encode(props) if props else "{}"
        if (
            text.count("\t") != tabs
            or "\n" in text
            or "\\" in text
            or "\r" in text
            or "\\" in tail  # JSON escapes every control character
        ):
            yield _escaped_line(event)
            continue
        yield f"{event_id}\t{at}\t{text}\t{nulls}\t{tail}\n"


class _CopyStream:
    """
    A file for `copy_expert` that formats lines as PostgreSQL reads them.

    Python formats the next lines while the server parses and indexes the
    last ones, so on two cores the two overlap instead of adding up.
    """

    LINES_PER_READ = 1000

    def __init__(self, lines):
        self.lines = iter(lines)

    def read(self, size: int = -1) -> str:
        return "".join(itertools.islice(self.lines, self.LINES_PER_READ))

    readline = read


def _csv_lines(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NOTNULL, lineterminator="\n")
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue()


def events_copy(*, events: list[dict] | None = None, rows=None, using: str = "default"):
    """
    COPY events (dicts) or ready rows (tuples in COLUMNS order, for CSV)
    into analytics_event on PostgreSQL, skipping event_ids already stored.

    The batch is COPYed straight into the table: duplicates are rare (a
    client's retried beacon), and the unique index on event_id makes the
    COPY fail as a whole when there is one. Only then is the batch loaded
    again through a temporary table and INSERT ... ON CONFLICT DO NOTHING.
    Returns the number of events stored.
    """
    if rows is None:
        cols, options = ", ".join(COPY_COLUMNS), ""

        def payload():
            return _CopyStream(_copy_lines(events))
    else:
        rows = rows if isinstance(rows, list) else list(rows)
        cols, options = ", ".join(COLUMNS), " WITH (FORMAT csv)"

        def payload():
            return _CopyStream(_csv_lines(rows))

    connection = connections[using]
    try:
        with (
            transaction.atomic(using=using),
            connection.cursor() as cursor,
            connection.wrap_database_errors,
        ):
            if rows is None:
                # Live events are not worth a wait for the disk: a server
                # crash may lose the last fraction of a second of committed
                # batches (never corrupt them), as a web process's crash
                # loses its buffer.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.cursor.copy_expert(
                f"COPY analytics_event ({cols}) FROM STDIN{options}",
                payload(),
                _COPY_CHUNK,
            )
            return cursor.cursor.rowcount
    except IntegrityError:
        pass
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS analytics_event_load AS "
            f"SELECT {', '.join(COLUMNS)} FROM analytics_event WITH NO DATA"
        )
        cursor.execute("TRUNCATE analytics_event_load")
        cursor.cursor.copy_expert(
            f"COPY analytics_event_load ({cols}) FROM STDIN{options}",
            payload(),
            _COPY_CHUNK,
        )
        cursor.execute(
            f"INSERT INTO analytics_event ({cols}) SELECT {cols} "
            "FROM analytics_event_load ON CONFLICT (event_id) DO NOTHING"
        )
        return cursor.rowcount


def s3_key(*, prefix: str, dt: str, hour: str) -> str:
    return f"{prefix.strip('/')}/dt={dt}/hour={hour}/{uuid.uuid4()}.jsonl.gz"


class S3Sink:
    """
    Gzipped JSON Lines in ANALYTICS_S3_BUCKET, Hive-partitioned by UTC hour:
    `clickstream/dt=YYYY-MM-DD/hour=HH/<uuid>.jsonl.gz` (Glue and Athena).
    """

    def __init__(self, *, bucket: str | None = None, prefix: str | None = None):
        self.bucket = bucket or settings.ANALYTICS_S3_BUCKET
        self.prefix = prefix or settings.ANALYTICS_S3_PREFIX
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = aws_client("s3", timeout=settings.ANALYTICS_SINK_TIMEOUT)
        return self._client

    def write(self, events: list[dict]) -> list[str]:
        partitions = defaultdict(list)
        for event in events:
            at = event["occurred_at"].astimezone(UTC)
            partitions[(at.strftime("%Y-%m-%d"), at.strftime("%H"))].append(event)
        keys, failed = [], []
        for (dt, hour), group in sorted(partitions.items()):
            body = gzip.compress(
                ("\n".join(event_line(e) for e in group) + "\n").encode(), 6
            )
            key = s3_key(prefix=self.prefix, dt=dt, hour=hour)
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/x-ndjson",
                    ContentEncoding="gzip",
                )
                keys.append(key)
            except Exception as exc:
                failed.extend(group)
                error = exc
        if failed:
            raise SinkError(f"S3 put failed: {error}", failed=failed)
        return keys


class FirehoseSink:
    """
    Kinesis Data Firehose PutRecordBatch, within its limits (500 records and
    4 MiB per call), retrying only the records the service reports failed.
    """

    MAX_RECORDS = 500
    MAX_BYTES = 4 * 1024 * 1024
    MAX_RECORD_BYTES = 1000 * 1024

    def __init__(
        self, *, stream: str | None = None, client=None, retries: int | None = None
    ):
        self.stream = stream or settings.ANALYTICS_FIREHOSE_STREAM
        self.retries = (
            settings.ANALYTICS_FIREHOSE_RETRIES if retries is None else retries
        )
        self._client = client
        # Events over the record size, skipped: the recorder counts them as
        # dropped ("oversize") and resets this.
        self.oversize = 0

    @property
    def client(self):
        if self._client is None:
            self._client = aws_client(
                "firehose", timeout=settings.ANALYTICS_SINK_TIMEOUT
            )
        return self._client

    def batches(self, events: list[dict]):
        """Yield lists of (event, data) within the record and byte limits."""
        batch, size = [], 0
        for event in events:
            data = (event_line(event) + "\n").encode()
            if len(data) > self.MAX_RECORD_BYTES:
                logger.warning(
                    "analytics: dropped an event over Firehose's record size"
                )
                self.oversize += 1
                continue
            if batch and (
                len(batch) == self.MAX_RECORDS or size + len(data) > self.MAX_BYTES
            ):
                yield batch
                batch, size = [], 0
            batch.append((event, data))
            size += len(data)
        if batch:
            yield batch

    def write(self, events: list[dict]) -> int:
        calls, failed = 0, []
        for batch in self.batches(events):
            pending = batch
            for attempt in range(self.retries + 1):
                if attempt:
                    time.sleep(min(0.1 * 2**attempt, 2.0))
                calls += 1
                try:
                    response = self.client.put_record_batch(
                        DeliveryStreamName=self.stream,
                        Records=[{"Data": data} for _, data in pending],
                    )
                except Exception as exc:
                    error = exc
                    continue
                if not response.get("FailedPutCount"):
                    pending = []
                    break
                results = response["RequestResponses"]
                pending = [
                    item
                    for item, result in zip(pending, results, strict=True)
                    if result.get("ErrorCode")
                ]
                error = results and next(
                    (r.get("ErrorCode") for r in results if r.get("ErrorCode")), ""
                )
            failed.extend(event for event, _ in pending)
        if failed:
            raise SinkError(f"Firehose kept failing: {error}", failed=failed)
        return calls
