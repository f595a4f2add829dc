"""
Events a sink could not take at shutdown, kept in a local file until the
next process starts (ANALYTICS_SPILL_DIR).

A graceful reload (SIGHUP) during a sink outage would otherwise discard
every event waiting for retry. Each process writes its own file, one JSON
line per event: {"sink": <class name>, "row": <the prepared row>}. A
starting process claims whole files by renaming them, so two never load
the same events.
"""

import json
import logging
import os
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from .sinks import event_json

logger = logging.getLogger(__name__)

_TIMES = ("occurred_at", "client_time")


def _directory() -> Path:
    return Path(settings.ANALYTICS_SPILL_DIR)


def spill_write(*, rows: dict[str, list[dict]]) -> int:
    """Write each sink's `rows` to a new file; returns the events written."""
    total = sum(len(r) for r in rows.values())
    if not total:
        return 0
    directory = _directory()
    path = directory / f"spill-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as handle:
            for sink, sink_rows in rows.items():
                for row in sink_rows:
                    handle.write(
                        f'{{"sink":{json.dumps(sink)},"row":{event_json(row)}}}\n'
                    )
        os.replace(path.with_suffix(".tmp"), path)
    except OSError:
        logger.exception("analytics: could not spill %d events to %s", total, path)
        return 0
    logger.warning("analytics: spilled %d unwritten events to %s", total, path)
    return total


def _row(data: dict) -> dict:
    for key in _TIMES:
        if data.get(key):
            data[key] = datetime.fromisoformat(data[key])
    if data.get("value") is not None:
        data["value"] = Decimal(data["value"])
    return data


def spill_read() -> dict[str, list[dict]]:
    """Claim every spill file, and return its rows by sink (files removed)."""
    directory = _directory()
    try:
        paths = sorted(directory.glob("spill-*.jsonl"))
    except OSError:
        return {}
    rows: dict[str, list[dict]] = {}
    for path in paths:
        claimed = path.with_suffix(f".{os.getpid()}.loading")
        try:
            os.replace(path, claimed)  # another process got it first
        except OSError:
            continue
        try:
            with open(claimed, encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    rows.setdefault(record["sink"], []).append(_row(record["row"]))
            claimed.unlink()
        except (OSError, ValueError, KeyError):
            logger.exception("analytics: could not read spilled events %s", claimed)
    if rows:
        logger.warning(
            "analytics: %d spilled events queued again",
            sum(len(r) for r in rows.values()),
        )
    return rows
