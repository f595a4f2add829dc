"""
JSON Lines as Athena's Hive JSON SerDe reads them: the one encoding of a
value for the clickstream's S3 and Firehose files and for the archive
(``adminpanel.archive``), declared by ``adminpanel.athena``.

One JSON object a line, its keys the table's columns in order. NULL is
``null``; text is a JSON string (line breaks escaped, so a row is always
one line); timestamps are UTC ``YYYY-MM-DD HH:MM:SS.ffffff`` strings, the
form ``java.sql.Timestamp.valueOf`` parses, which is what the SerDe uses
when no ``timestamp.formats`` is given; dates are ``YYYY-MM-DD``; decimals
and integers are JSON numbers written from their exact text; booleans are
``true``/``false``; a JSON column (a ``string`` in Athena) is its compact
JSON text as a string, so that ``json_extract`` reads it and the SerDe
never meets a nested object where it expects a string.
"""

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

_string = json.JSONEncoder(ensure_ascii=False).encode
_compact = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":")
).encode


def timestamp_text(value: dt.datetime) -> str:
    """A datetime as the SerDe's timestamp text (UTC; naive means UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime(TIMESTAMP_FORMAT)


def json_value(value) -> str:
    """One value as JSON text, in the form its Athena column type reads."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else "null"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, dt.datetime):
        return f'"{timestamp_text(value)}"'
    if isinstance(value, dt.date):
        return f'"{value.isoformat()}"'
    if isinstance(value, dict | list):
        return _string(_compact(value))
    if isinstance(value, uuid.UUID):
        return f'"{value}"'
    return _string(str(value))


def json_keys(columns: Sequence[str]) -> list[str]:
    """Each column's ``"name":`` prefix, made once for many lines."""
    return [_string(c) + ":" for c in columns]


def json_line(keys: Sequence[str], values: Iterable) -> str:
    """One row as a JSON object (no newline); ``keys`` from ``json_keys``."""
    return (
        "{"
        + ",".join(k + json_value(v) for k, v in zip(keys, values, strict=True))
        + "}"
    )
