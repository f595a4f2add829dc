"""Strict validation of `/analytics/collect` batches from clickstream.js."""

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings

MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 50
MAX_PROPERTIES = 10
# page_view comes from the server, where ad-blockers cannot drop it.
CLIENT_EVENTS = frozenset({"click", "scroll", "engaged"})
EVENT_KEYS = frozenset({"event_id", "name", "ts", "path", "viewport", "properties"})
FUTURE_TOLERANCE = timedelta(minutes=5)
VIEWPORT = re.compile(r"^\d{1,5}x\d{1,5}$")


class CollectError(ValueError):
    """A batch was refused; the message says what is wrong."""


def _fail(index: int | None, message: str):
    where = "" if index is None else f"events[{index}]: "
    raise CollectError(f"{where}{message}")


def collect_parse(*, body: bytes, now: datetime | None = None) -> list[dict]:
    """
    Validate a JSON batch `{"events": [...]}` and return event field dicts.

    Each event: `event_id` (UUID), `name` (click, scroll or engaged),
    `ts` (client time, ms since the epoch), optional `path`
    (≤ 500 chars, starting with "/"), `viewport` ("WxH") and `properties`
    (≤ 10 keys of short strings, numbers or booleans). Client times more
    than 5 minutes ahead or ANALYTICS_COLLECT_MAX_AGE behind are rejected;
    times slightly ahead are clamped to the server's clock.
    """
    now = now or datetime.now(UTC)
    if len(body) > MAX_BODY_BYTES:
        _fail(None, f"body is over {MAX_BODY_BYTES // 1024} KB")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        # Not JSON, or JSON Python will not build: nested past the
        # recursion limit, or an integer past its 4,300 digits.
        _fail(None, f"body is not valid JSON ({exc.__class__.__name__})")
    if not isinstance(data, dict) or set(data) != {"events"}:
        _fail(None, 'body must be an object with one key, "events"')
    raw_events = data["events"]
    if not isinstance(raw_events, list) or not raw_events:
        _fail(None, '"events" must be a non-empty list')
    if len(raw_events) > MAX_EVENTS:
        _fail(None, f"at most {MAX_EVENTS} events per batch")
    oldest = now - timedelta(seconds=settings.ANALYTICS_COLLECT_MAX_AGE)
    events = []
    for i, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            _fail(i, "must be an object")
        unknown = set(raw) - EVENT_KEYS
        if unknown:
            _fail(i, f"unknown field {sorted(unknown)[0]!r}")
        for required in ("event_id", "name", "ts"):
            if required not in raw:
                _fail(i, f"{required!r} is required")
        try:
            event_id = uuid.UUID(str(raw["event_id"]))
        except ValueError:
            _fail(i, "'event_id' must be a UUID")
        name = raw["name"]
        if not isinstance(name, str) or name not in CLIENT_EVENTS:
            _fail(i, f"'name' must be one of {', '.join(sorted(CLIENT_EVENTS))}")
        ts = raw["ts"]
        if isinstance(ts, bool) or not isinstance(ts, int | float):
            _fail(i, "'ts' must be milliseconds since the epoch")
        try:
            client_time = datetime.fromtimestamp(ts / 1000, tz=UTC)
        except (OverflowError, ValueError, OSError):
            _fail(i, "'ts' is out of range")
        if client_time > now + FUTURE_TOLERANCE:
            _fail(i, "'ts' is in the future")
        if client_time < oldest:
            _fail(i, "'ts' is too old")
        client_time = min(client_time, now)
        path = raw.get("path", "")
        if not isinstance(path, str) or len(path) > 500 or (path and path[0] != "/"):
            _fail(i, "'path' must be a site path of at most 500 characters")
        viewport = raw.get("viewport", "")
        if not isinstance(viewport, str) or (viewport and not VIEWPORT.match(viewport)):
            _fail(i, "'viewport' must look like 1280x720")
        properties = raw.get("properties", {})
        if not isinstance(properties, dict) or len(properties) > MAX_PROPERTIES:
            _fail(i, f"'properties' must be an object of at most {MAX_PROPERTIES} keys")
        for key, value in properties.items():
            if len(key) > 40 or not key:
                _fail(i, "property names are at most 40 characters")
            if isinstance(value, str):
                if len(value) > 200:
                    _fail(i, f"property {key!r} is over 200 characters")
            elif value is not None and not isinstance(value, int | float | bool):
                _fail(i, f"property {key!r} must be a string, number or boolean")
        event = {
            "event_id": event_id,
            "name": name,
            "client_time": client_time,
            "viewport": viewport,
            "properties": properties,
        }
        if path:
            event["path"] = path
        events.append(event)
    return events
