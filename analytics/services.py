"""
Recording clickstream events.

The public recording API is `event_record` and the `TrackedEvent` it makes:
the rest of the project records an event with

    event_record(name="add_to_cart", product_id=..., value=..., currency=...)

where every keyword is an Event column (see `RECORDABLE`). It never blocks
on I/O and never raises into the caller: it appends a `TrackedEvent` (the
columns known so far, the time, and the request's raw `RequestFacts`) to a
bounded per-process buffer, and a background thread prepares each batch
into rows, one dict of Event columns an event, for the sinks named in
ANALYTICS_SINKS (by size, by interval and at exit).

Tests call `events_flush()` to drain the buffer synchronously.
"""

import atexit
import json
import logging
import math
import operator
import os
import string
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.db import DataError, connections
from django.utils.module_loading import import_string
from psycopg2 import DataError as DriverDataError

from config.aws import aws_client

from . import tracking
from .conf import conf
from .context import RequestFacts, context_current
from .models import Event
from .sessions import sessions_assign
from .sinks import BLANK_ROW, COLUMNS, S3Sink
from .spill import spill_read, spill_write
from .totals import totals_add, totals_read
from .useragent import useragent_parse

# What other apps use: the recording API, and the counters /healthz shows.
__all__ = [
    "RECORDABLE",
    "TrackedEvent",
    "TrackingIds",
    "analytics_health",
    "event_record",
    "tracking_ids",
]

logger = logging.getLogger(__name__)

# Columns a caller may set; anything else is ignored rather than raised.
RECORDABLE = frozenset(
    {
        "event_id",
        "occurred_at",
        "client_time",
        "path",
        "route",
        "product_id",
        "variant_id",
        "order_id",
        "value",
        "currency",
        "viewport",
        "status_code",
        "duration_ms",
        "is_bot",
        "properties",
        "visitor_id",
        "session_id",
        "user_id",
    }
)
# Errors that mean "this data", not "this sink": the rows are bisected and
# the refused ones dropped instead of retried forever. COPY runs on the raw
# driver cursor, which raises the driver's own.
REFUSED_DATA = (DataError, DriverDataError, ValueError, TypeError)

TEXT_LIMITS = {
    "name": 40,
    "visitor_id": 64,
    "session_id": 64,
    "path": 500,
    "route": 100,
    "referrer": 500,
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 100,
    "utm_term": 100,
    "utm_content": 100,
    "currency": 3,
    "device": 10,
    "browser": 40,
    "os": 40,
    "language": 20,
    "viewport": 20,
    "country": 2,
    "channel": 30,
}
MAX_PROPERTIES_BYTES = 2048


@dataclass(slots=True)
class TrackedEvent:
    """
    One event as `event_record` buffers it, on its way to the flusher.

    `columns` are the Event columns known when it was recorded (the
    caller's, and the request context's: visitor, session, user, path,
    route). The flusher (`events_prepare`) makes the rest: `occurred_at`
    from `at`, the session from a fresh cookie, and the device, referrer,
    language and country from `request`.
    """

    name: str
    columns: dict = field(default_factory=dict)
    # Epoch seconds, when `columns` has no occurred_at.
    at: float | None = None
    # The raw values of the request it was recorded in, if any.
    request: RequestFacts | None = None


class SinkState:
    """
    One sink with its own bounded queue, worker thread and counters, so one
    sink's trouble (a hung Firehose) never delays another's writes.
    """

    def __init__(self, sink, *, max_events: int):
        self.sink = sink
        self.max_events = max_events
        # Prepared rows waiting for this sink, oldest first; failed writes
        # go back to the front.
        self.queue: deque = deque()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.rejected = 0
        self.written = 0
        self.errors = 0
        self.dropped: Counter = Counter()
        self.last_error = ""
        self.failing = False
        # Rows being written now: spilled at shutdown if the write hangs.
        self.inflight: list[dict] = []

    @property
    def name(self) -> str:
        return type(self.sink).__name__

    @property
    def retry(self) -> deque:
        return self.queue

    def put(self, rows: list[dict], *, front: bool = False) -> None:
        """Queue `rows`, keeping the newest up to the bound (drops counted)."""
        with self.lock:
            if front:
                self.queue.extendleft(reversed(rows))
            else:
                self.queue.extend(rows)
            overflow = len(self.queue) - self.max_events
            for _ in range(max(0, overflow)):
                self.queue.popleft()
            if overflow > 0:
                self.dropped["queue_full"] += overflow

    def take(self) -> list[dict]:
        with self.lock:
            rows = list(self.queue)
            self.queue.clear()
        return rows


class Recorder:
    """
    A bounded intake buffer, a dispatcher thread that prepares its events,
    and one worker thread per sink; one recorder per process.
    """

    def __init__(
        self,
        *,
        sinks: list | None = None,
        max_events: int | None = None,
        interval: float | None = None,
        batch_size: int | None = None,
        background: bool | None = None,
    ):
        self.max_events = max_events or settings.ANALYTICS_BUFFER_SIZE
        self.interval = interval or settings.ANALYTICS_FLUSH_INTERVAL
        self.batch_size = batch_size or settings.ANALYTICS_BATCH_SIZE
        self.background = (
            settings.ANALYTICS_BACKGROUND_FLUSH if background is None else background
        )
        self._sinks = (
            [SinkState(s, max_events=self.max_events) for s in sinks]
            if sinks is not None
            else None
        )
        self.buffer: deque = deque()
        self.recorded = 0
        # Events lost before reaching any sink, by reason.
        self.drops: Counter = Counter()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = None
        self._restored = False
        # Counts already added to the shop's totals (see totals.py).
        self._published: Counter = Counter()
        self._publish_lock = threading.Lock()

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    # -- the request path: no I/O, no exceptions ------------------------------
    def add(self, event: TrackedEvent) -> None:
        with self._lock:
            if len(self.buffer) >= self.max_events:
                self.buffer.popleft()
                self.drops["buffer_full"] += 1
            self.buffer.append(event)
            self.recorded += 1
            size = len(self.buffer)
        if self.background:
            if self._pid is None:
                self._start()
            if size >= self.batch_size:
                self._wake.set()

    def _start(self) -> None:
        # Lazily, and again after a fork (gunicorn workers): threads do not
        # survive fork, and each worker needs its own.
        with self._lock:
            if self._pid is not None:
                return
            if self._under_test():
                self.background = False
                return
            self._pid = os.getpid()
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="analytics-flusher", daemon=True
            )
            self._thread.start()
            for state in self.sinks:
                state.thread = threading.Thread(
                    target=self._sink_run,
                    args=(state,),
                    name=f"analytics-sink-{state.name}",
                    daemon=True,
                )
                state.thread.start()
            atexit.register(self.shutdown)

    def _after_fork(self) -> None:
        # In a forked child only the forking thread lives on: no threads,
        # and locks another thread may have held at the fork. The parent
        # still holds (and will write) the events buffered so far.
        self.buffer.clear()
        for state in self._sinks or ():
            state.queue.clear()
            state.lock = threading.Lock()
            state.wake = threading.Event()
            state.thread = None
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._pid = None

    @staticmethod
    def _under_test() -> bool:
        # Django's test setup installs `mail.outbox`. A thread writing
        # through its own connection would race the test's transaction, so
        # under test the buffer is drained only by explicit `flush()`.
        return hasattr(mail, "outbox")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self._dispatch()
            except Exception:  # pragma: no cover - dispatch already guards
                logger.exception("analytics dispatcher failed")
            finally:
                connections_release()
            for state in self.sinks:
                if not state.failing:  # a failing one keeps its back-off
                    state.wake.set()

    def _sink_run(self, state: SinkState) -> None:
        backoff = self.interval
        while not self._stop.is_set():
            state.wake.wait(backoff if state.failing else self.interval)
            state.wake.clear()
            if self._stop.is_set():
                break
            try:
                self._drain(state)
            finally:
                connections_release()
            backoff = min(backoff * 2, 60.0) if state.failing else self.interval
            self._publish()

    def shutdown(self, timeout: float = 5.0) -> None:
        """
        Stop the threads and write what is left (called at exit). What a
        sink cannot take now is spilled to ANALYTICS_SPILL_DIR, and written
        by the next process to start.
        """
        self._stop.set()
        self._wake.set()
        current = threading.current_thread()
        for thread in [self._thread, *(s.thread for s in self._sinks or ())]:
            if thread is not None and thread is not current:
                thread.join(timeout)
        try:
            with self._flush_lock:
                self._dispatch()
                hung = {s.name for s in self.sinks if s.thread and s.thread.is_alive()}
                for state in self.sinks:
                    # A failing or hung sink is not waited on again.
                    if not state.failing and state.name not in hung:
                        self._drain(state)
                spill_write(
                    rows={
                        s.name: [*s.take(), *(s.inflight if s.name in hung else ())]
                        for s in self.sinks
                    }
                )
                self._publish()
        finally:
            connections.close_all()

    # -- dispatching and writing ----------------------------------------------
    @property
    def sinks(self) -> list[SinkState]:
        if self._sinks is None:
            self._sinks = [
                SinkState(import_string(p)(), max_events=self.max_events)
                for p in settings.ANALYTICS_SINKS
            ]
        return self._sinks

    def _dispatch(self) -> int:
        """Prepare what is buffered and queue it for every sink."""
        if not self._restored:
            self._restored = True
            for name, rows in spill_read().items():
                for state in self.sinks:
                    if state.name == name:
                        state.put(rows, front=True)
        with self._lock:
            batch = list(self.buffer)
            self.buffer.clear()
        if not batch:
            return 0
        try:
            rows = events_prepare(batch, drops=self.drops)
        except Exception:
            logger.exception("analytics: could not prepare %d events", len(batch))
            self.drops["invalid"] += len(batch)
            return len(batch)
        for state in self.sinks:
            state.put(rows)
        return len(batch)

    def flush(self) -> int:
        """Hand everything buffered to every sink, in this thread."""
        with self._flush_lock:
            taken = self._dispatch()
            for state in self.sinks:
                self._drain(state)
            self._publish()
            return taken

    def _drain(self, state: SinkState) -> None:
        pending = state.take()
        if not pending:
            return
        state.inflight = pending
        try:
            self._write(state, pending)
            state.written += len(pending)
            state.failing = False
        except Exception as exc:
            failed = getattr(exc, "failed", None)
            failed = pending if failed is None else failed
            state.written += len(pending) - len(failed)
            state.errors += 1
            state.failing = True
            state.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
            logger.warning(
                "analytics sink %s failed (%d events kept for retry): %s",
                state.name,
                min(len(failed), self.max_events),
                state.last_error,
            )
            state.put(failed, front=True)
        finally:
            state.inflight = []

    def _write(self, state: "SinkState", events: list[dict]) -> None:
        """
        Write `events`; if the sink refuses the data itself, isolate and drop
        the rows it refuses so one bad event cannot block every later batch.

        Failures of the sink as a whole (connection, missing table) propagate
        and the events are kept for retry.
        """
        try:
            state.sink.write(events)
        except REFUSED_DATA as exc:
            if len(events) == 1:
                state.rejected += 1
                state.dropped["refused"] += 1
                state.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
                logger.warning(
                    "analytics sink %s refused an event: %s", state.name, exc
                )
                return
            middle = len(events) // 2
            self._write(state, events[:middle])
            self._write(state, events[middle:])
        oversize = getattr(state.sink, "oversize", 0)
        if oversize:
            state.sink.oversize = 0
            state.dropped["oversize"] += oversize

    def counts(self) -> Counter:
        """Cumulative counts of this process, as totals.py adds them up."""
        counts = Counter(recorded=self.recorded, errors=_errors)
        for reason, n in self.drops.items():
            counts[f"dropped:{reason}"] = n
        for state in self.sinks:
            counts[f"{state.name}:written"] = state.written
            counts[f"{state.name}:errors"] = state.errors
            for reason, n in state.dropped.items():
                counts[f"{state.name}:dropped:{reason}"] = n
        return counts

    def _publish(self) -> None:
        """Add what this process counted since last time to the shop's totals."""
        with self._publish_lock:  # the dispatcher and each sink's worker
            counts = self.counts()
            delta = counts - self._published
            if delta and totals_add(delta):
                self._published = counts

    def stats(self) -> dict:
        sink_drops = sum(sum(s.dropped.values()) for s in self.sinks)
        return {
            "recorded": self.recorded,
            "buffered": len(self.buffer),
            "dropped": self.dropped + sink_drops,
            "dropped_by_reason": dict(
                sum((s.dropped for s in self.sinks), Counter(self.drops))
            ),
            "errors": sum(s.errors for s in self.sinks),
            "sinks": {
                s.name: {
                    "written": s.written,
                    "errors": s.errors,
                    "dropped": sum(s.dropped.values()),
                    "retrying": len(s.queue),
                    "rejected": s.rejected,
                    "last_error": s.last_error,
                }
                for s in self.sinks
            },
        }


def connections_release() -> None:
    """
    After a flush, treat this thread's database connections as Django treats
    a request's: keep them up to CONN_MAX_AGE, health-check them again before
    the next use (CONN_HEALTH_CHECKS), and close the ones that broke.

    With a CONN_MAX_AGE, the flusher does not open a connection (and the
    database server a new backend process) for every flush.
    """
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()


_recorder: Recorder | None = None
_recorder_lock = threading.Lock()


def _recorder_after_fork() -> None:
    if _recorder is not None:
        _recorder._after_fork()


os.register_at_fork(after_in_child=_recorder_after_fork)


def recorder_get() -> Recorder:
    global _recorder
    if _recorder is None:
        with _recorder_lock:
            if _recorder is None:
                _recorder = Recorder()
    return _recorder


def recorder_reset(*, recorder: Recorder | None = None) -> Recorder:
    """Replace the process recorder (tests, and settings changes)."""
    global _recorder
    with _recorder_lock:
        old, _recorder = _recorder, recorder
    if old is not None:
        old._stop.set()
        old._wake.set()
    return recorder_get()


_errors = 0
# What request.get_full_path() leaves as it is (see escape_uri_path): a path
# made only of these needs no escaping, which saves a page view ~1 µs.
_URI_SAFE = frozenset(string.ascii_letters + string.digits + "/:@&+$,-_.!~*'()")


class TrackingIds(NamedTuple):
    """A visitor and their session, as plain values to keep (see tracking_ids)."""

    visitor_id: str = ""
    session_id: str = ""


def tracking_ids() -> TrackingIds:
    """
    The current request's visitor and session, for an event recorded later
    on the visitor's behalf (a purchase a webhook confirms): pass them to
    `event_record` as `visitor_id` and `session_id`. Empty outside a
    tracked request; a cookieless visitor's session is left empty, for the
    flusher to assign as it does for their own events.
    """
    ctx = context_current()
    if ctx is None or not conf().enabled:
        return TrackingIds()
    base = ctx.base()
    if base is None:
        return TrackingIds()
    session_id = base.get("session_id")
    if session_id is None and ctx.facts is not None:
        # A session going on: its id is in the cookie the flusher reads.
        state = tracking.SessionState.load(ctx.facts.session_cookie)
        session_id = state.session_id if state is not None else ""
    return TrackingIds(base.get("visitor_id", ""), session_id or "")


# Integer columns (bigint at most): a value that is not one costs that field
# when it is recorded, never the whole event at a sink.
INT_COLUMNS = frozenset(
    {"product_id", "variant_id", "order_id", "user_id", "status_code", "duration_ms"}
)
_INT_RANGE = range(-(2**63), 2**63)


def _ints_clean(fields: dict) -> dict:
    clean = dict(fields)
    for key in fields.keys() & INT_COLUMNS:
        value = fields[key]
        if value is None or (type(value) is int and value in _INT_RANGE):
            continue
        try:
            value = int(value)  # "12" from a form
        except (TypeError, ValueError, OverflowError):
            value = None
        if value is None or value not in _INT_RANGE:
            del clean[key]
        else:
            clean[key] = value
    return clean


def event_record(*, name: str, **fields) -> None:
    """
    Record one event named `name` for the current request context.

    Fields are Event columns (product_id, variant_id, order_id, value,
    currency, properties, ...; see RECORDABLE); others are ignored. Request
    context (visitor, session, path, user agent) is filled in from the
    current request by the middleware, unless the caller names the
    `visitor_id`: then the event is that visitor's, recorded on their
    behalf, and the current request (a webhook's, a job's) lends it
    nothing. Never blocks on I/O, never raises.
    """
    global _errors
    try:
        if not conf().enabled:
            return
        if not fields.keys() <= RECORDABLE:
            fields = {k: v for k, v in fields.items() if k in RECORDABLE}
        if not fields.keys().isdisjoint(INT_COLUMNS):
            fields = _ints_clean(fields)
        facts = None
        ctx = None if fields.get("visitor_id") else context_current()
        if ctx is not None:
            base = ctx.base()
            if base is None:  # the visitor opted out and the mode is "off"
                return
            facts = ctx.facts
            columns = {**base, "user_id": ctx.user_id()}
            request = ctx.request
            path = request.path
            if request.META.get("QUERY_STRING") or not _URI_SAFE.issuperset(path):
                path = request.get_full_path()
            columns["path"] = path
            match = request.resolver_match
            if match is not None:
                columns["route"] = match.view_name
            columns.update(fields)
            if "session_id" in fields and facts.session_cookie is not None:
                # The caller's session, not the cookie's.
                facts = facts._replace(session_cookie=None)
        else:
            columns = fields
        recorder_get().add(
            TrackedEvent(
                name,
                columns,
                # The flusher makes the time a datetime (events_prepare).
                None if "occurred_at" in fields else time.time(),
                facts,
            )
        )
    except Exception:
        _errors += 1
        logger.exception("analytics: could not record %r", name)


def events_flush() -> int:
    """Drain the buffer into the sinks now, in this thread."""
    return recorder_get().flush()


def analytics_health(*, details: bool = True) -> dict:
    """
    Counters for /healthz and staff: recorded, buffered, dropped, errors.

    Without `details` (public answers), no error text.
    """
    try:
        stats = recorder_get().stats()
        stats["errors"] += _errors
    except Exception as exc:  # health must answer even when this is broken
        return {"error": exc.__class__.__name__ if details else "unavailable"}
    if not details:
        for sink in stats["sinks"].values():
            sink.pop("last_error", None)
    # The shop's totals across every process; None while Redis is away.
    stats["totals"] = totals_read()
    return stats


# -- normalisation, in the flusher thread ---------------------------------------
def _clean_text(value: str) -> str:
    """
    Text PostgreSQL will store: no NUL bytes, no lone surrogates.

    Either would make the database refuse the whole batch it arrives in.
    """
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _clean_json(value, depth: int = 0):
    if depth > 5:
        return None
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {
            _clean_text(str(k)): _clean_json(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean_json(v, depth + 1) for v in value]
    return value


def _bounded_properties(value) -> dict:
    if not isinstance(value, dict) or not value:
        return {}
    try:
        value = _clean_json(value)
        raw = json.dumps(value, default=str, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return {"_invalid": True}
    if len(raw) > MAX_PROPERTIES_BYTES:
        return {"_truncated": True}
    return json.loads(raw)


_TEXT_KEYS = tuple(TEXT_LIMITS)
_TEXT_MAX = tuple(TEXT_LIMITS.values())
_texts = operator.itemgetter(*_TEXT_KEYS)
# A prepared event holds every column; its event_id is drawn in a batch.
_BLANK_EVENT = {**BLANK_ROW, "event_id": None}


def _text_fits(texts: tuple) -> bool:
    """Whether every text is a str within its limit, free of NUL and lone surrogates."""
    try:
        joined = "".join(texts)
    except TypeError:  # None or a number in a text column
        return False
    if "\x00" in joined or any(map(operator.gt, map(len, texts), _TEXT_MAX)):
        return False
    if joined.isascii():
        return True
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _event_prepare(event: TrackedEvent, sessions: dict) -> dict:
    # Runs in the flusher for every event: the raw request values the
    # middleware gathered are read here, and the common row (short, clean
    # ASCII text) is checked in one pass and left as it is. `sessions` is
    # the batch's memo: a visitor's page views share one session cookie.
    row = {**_BLANK_EVENT, **event.columns}
    row["name"] = event.name
    if event.at is not None:
        row["occurred_at"] = datetime.fromtimestamp(event.at, UTC)
    facts = event.request
    if facts is not None:
        raw = facts.session_cookie
        if raw is not None:
            # The session cookie's value: a visitor's page views share it.
            state = sessions.get(raw)
            if state is None:
                state = sessions[raw] = tracking.SessionState.load(raw)
            if state is not None:
                row["session_id"] = state.session_id
                row["channel"] = state.channel
                row["utm_source"] = state.source
                row["utm_medium"] = state.medium
                row["utm_campaign"] = state.campaign
        if facts.referrer:
            row["referrer"] = tracking.url_scrub(facts.referrer)
        if facts.language:
            row["language"] = facts.language.partition(",")[0].strip()[:20]
        if facts.country:
            row["country"] = facts.country[:2].upper()
        device, browser, os_name, is_bot = useragent_parse(facts.user_agent[:512])
        row["device"] = device
        row["browser"] = browser
        row["os"] = os_name
        row["is_bot"] = bool(row["is_bot"]) or is_bot
        if facts.host is not None:
            row["channel"] = tracking.channel_classify(
                source=row["utm_source"],
                medium=row["utm_medium"],
                referrer=row["referrer"],
                host=facts.host,
            )
    path = row["path"]
    if path.__class__ is not str:
        path = row["path"] = str(path or "")
    if "?" in path:
        row["path"] = tracking.url_scrub(path)
    texts = _texts(row)
    if not _text_fits(texts):
        for key, limit, value in zip(_TEXT_KEYS, _TEXT_MAX, texts, strict=True):
            row[key] = _clean_text("" if value is None else str(value))[:limit]
    properties = row["properties"]
    row["properties"] = _bounded_properties(properties) if properties else {}
    value = row["value"]
    if value is not None:
        try:
            row["value"] = Decimal(str(value)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            row["value"] = None
    event_id = row["event_id"]
    if event_id is not None:  # the client's own: canonical text, or a new one
        try:
            row["event_id"] = str(
                event_id
                if isinstance(event_id, uuid.UUID)
                else uuid.UUID(str(event_id))
            )
        except ValueError:
            row["event_id"] = None
    row["is_bot"] = bool(row["is_bot"])
    return row


def events_prepare(
    events: list[TrackedEvent], *, drops: Counter | None = None
) -> list[dict]:
    """
    Turn tracked events into rows for the sinks, one dict of every Event
    column an event: parse user agents, bound sizes and assign cookieless
    sessions. An event that cannot be prepared is counted in `drops`
    ("invalid").
    """
    prepared, sessions = [], {}
    for event in events:
        try:
            prepared.append(_event_prepare(event, sessions))
        except Exception:
            logger.exception("analytics: dropped a malformed event")
            if drops is not None:
                drops["invalid"] += 1
    unnamed = [e for e in prepared if e["event_id"] is None]
    for event, event_id in zip(unnamed, event_ids(len(unnamed)), strict=True):
        event["event_id"] = event_id
    sessions_assign(events=prepared)
    return prepared


# The RFC 9562 variant (0b10) with two random bits, for each hex digit.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def event_ids(count: int) -> list[str]:
    """
    `count` new time-ordered UUIDs (version 7, RFC 9562) in canonical text
    form: the Unix time in milliseconds, then 74 random bits.

    IDs drawn later sort later, so the unique index on `event_id` grows at
    its right edge, as the primary key does, instead of every row landing
    on a random page of a large index. They are drawn as text, which is
    what every sink writes, from one random hex string for the batch.
    """
    ms = time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF
    head = f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-7"
    rand = os.urandom(10 * count).hex()
    variant = _VARIANT_DIGIT
    return [
        f"{head}{rand[i : i + 3]}-{variant[rand[i + 3]]}{rand[i + 4 : i + 7]}-"
        f"{rand[i + 7 : i + 19]}"
        for i in range(0, 20 * count, 20)
    ]


def events_collect(*, events: list[dict], flagged: bool = False) -> int:
    """Record validated client events; `flagged` marks them as a bot's."""
    for fields in events:
        if flagged:
            fields["is_bot"] = True
        event_record(**fields)
    return len(events)


def collect_rate_check(*, ip: str) -> tuple[bool, bool]:
    """
    Count one collect request for `ip` (hashed) in the cache.

    Returns (allowed, flagged): over ANALYTICS_COLLECT_RATE a minute the
    request is refused, and the client stays flagged as a bot for an hour.
    Fails open when the cache is down: analytics must not break the page.
    """
    digest = tracking.ip_hash(ip)
    window = int(time.time() // 60)
    key = f"analytics:rl:{digest}:{window}"
    flag_key = f"analytics:flood:{digest}"
    try:
        count = 1 if cache.add(key, 1, timeout=120) else cache.incr(key)
        if count > settings.ANALYTICS_COLLECT_RATE:
            cache.set(flag_key, 1, timeout=3600)
            return False, True
        return True, bool(cache.get(flag_key))
    except Exception:
        logger.warning("analytics: rate limit cache unavailable", exc_info=True)
        return True, False


def events_day_archived(*, day) -> bool:
    """Whether the S3 clickstream partition for `day` (UTC) holds any object."""
    prefix = f"{settings.ANALYTICS_S3_PREFIX.strip('/')}/dt={day:%Y-%m-%d}/"
    listing = aws_client("s3").list_objects_v2(
        Bucket=settings.ANALYTICS_S3_BUCKET, Prefix=prefix, MaxKeys=1
    )
    return listing.get("KeyCount", 0) > 0


def events_archive_day(*, day, chunk: int = 50000) -> int:
    """Write one UTC day of raw events to the S3 clickstream partitions."""
    start = datetime.combine(day, dtime.min, tzinfo=UTC)
    rows = (
        Event.objects.filter(
            occurred_at__gte=start, occurred_at__lt=start + timedelta(days=1)
        )
        .order_by("occurred_at", "id")
        .values(*COLUMNS)
        .iterator(chunk_size=chunk)
    )
    sink, batch, total = S3Sink(), [], 0
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            sink.write(batch)
            total, batch = total + len(batch), []
    if batch:
        sink.write(batch)
        total += len(batch)
    return total
