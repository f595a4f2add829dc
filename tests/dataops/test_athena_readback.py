"""
Athena's reading of the archive and of the clickstream, proven with an
engine: the files are fetched from the local S3 (moto over HTTP) and read by
DuckDB with the column types `athena_ddl` declares (translated by sqlglot),
timestamps in the one form the Hive JSON SerDe parses by default. A value
that does not fit its declared type fails the read.
"""

import datetime as dt
import gzip
import json
import uuid
from decimal import Decimal

import duckdb
import pytest
import sqlglot
from django.db import models
from sqlglot import exp

from adminpanel.archive import TABLES, archive_run, info_load
from adminpanel.athena import HIVE_JSON_SERDE, athena_ddl
from analytics.models import Event
from analytics.sinks import COLUMNS, S3Sink
from tests.dataops.conftest import at

pytestmark = pytest.mark.django_db
# java.sql.Timestamp.valueOf's form, which the SerDe uses without
# timestamp.formats; DuckDB is held to exactly it.
READ_OPTIONS = (
    "format='newline_delimited', timestampformat='%Y-%m-%d %H:%M:%S.%f', "
    "dateformat='%Y-%m-%d'"
)


def declared_tables() -> dict[str, list[tuple[str, str]]]:
    """Each table's columns with their DuckDB types, from the Athena DDL."""
    ddl = athena_ddl(
        bucket="test-archive",
        prefix="archive",
        database="d",
        clickstream_bucket="test-clicks",
        clickstream_prefix="clickstream",
    )
    tables = {}
    for statement in sqlglot.parse(ddl, read="athena"):
        if not isinstance(statement, exp.Create) or statement.kind != "TABLE":
            continue
        serde = statement.find(exp.RowFormatSerdeProperty)
        assert serde.this.name == HIVE_JSON_SERDE
        schema = statement.this
        tables[schema.this.name] = [
            (column.name, column.args["kind"].sql("duckdb"))
            for column in schema.expressions
        ]
    return tables


def read_back(paths: list[str], columns: list[tuple[str, str]]) -> list[tuple]:
    """Every row of the files, typed as declared; each line has every column."""
    names = [name for name, _type in columns]
    for path in paths:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as lines:
            assert all(list(json.loads(line)) == names for line in lines), path
    types = ", ".join(f"'{name}': '{type_}'" for name, type_ in columns)
    files = ", ".join(f"'{p}'" for p in paths)
    return (
        duckdb.connect()
        .execute(
            f"SELECT * FROM read_json([{files}], columns={{{types}}}, "
            f"{READ_OPTIONS}, ignore_errors=false)"
        )
        .fetchall()
    )


def as_written(value):
    """A database value as the engine gives it back (naive UTC, JSON text)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def engine_row(row: tuple, fields) -> tuple:
    """A row as the engine read it, its JSON columns' text normalised."""
    return tuple(
        json.dumps(json.loads(v), sort_keys=True)
        if isinstance(f, models.JSONField) and v is not None
        else v
        for f, v in zip(fields, row, strict=True)
    )


def download(client, bucket: str, keys: list[str], tmp_path) -> list[str]:
    paths = []
    for i, key in enumerate(keys):
        path = tmp_path / f"{i}-{key.rsplit('/', 1)[-1]}"
        path.write_bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        paths.append(str(path))
    return paths


def test_duckdb_reads_every_archived_row_with_the_declared_types(
    s3, shop_data, tmp_path
):
    # NULLs of every kind, text with line breaks, quotes and a backslash.
    Event.objects.create(
        name="search",
        occurred_at=at(0, hour=23),
        client_time=None,
        path='/s/?q="rain\\ncoat"\nnext line\r\n\tend',
        value=None,
        properties={"q": "rain\ncoat", "n": None},
    )
    client, _ = s3
    assert archive_run().ok
    info = info_load(bucket="test-archive", prefix="archive")
    declared = declared_tables()
    for table in TABLES:
        files = info["tables"][table.name]["files"].values()
        paths = download(client, "test-archive", [f["key"] for f in files], tmp_path)
        rows = read_back(paths, declared[table.name])
        # No row rejected: every archived row is read.
        assert len(rows) == sum(f["rows"] for f in files), table.name
        expected = [
            tuple(as_written(v) for v in row)
            for row in table.model._default_manager.order_by("pk").values_list(
                *table.columns()
            )
        ]
        got = sorted((engine_row(r, table.fields()) for r in rows), key=lambda r: r[0])
        assert got == expected, table.name
    event = Event.objects.get(name="search")
    [row] = [
        r
        for r in read_back(
            download(
                client,
                "test-archive",
                [f"archive/events/dt={at(0).date()}/part.jsonl"],
                tmp_path,
            ),
            declared["events"],
        )
        if r[0] == event.pk
    ]
    names = [name for name, _type in declared["events"]]
    assert row[names.index("occurred_at")] == dt.datetime.combine(
        at(0).date(), dt.time(23, 30, 15, 123456)
    )
    assert row[names.index("client_time")] is None
    assert row[names.index("value")] is None and row[names.index("user_id")] is None
    assert row[names.index("path")] == event.path


def test_duckdb_reads_the_clickstream_the_s3_sink_writes(s3, tmp_path):
    client, _ = s3
    client.create_bucket(
        Bucket="test-clicks",
        CreateBucketConfiguration={"LocationConstraint": "eu-west-2"},
    )
    base = dict.fromkeys(COLUMNS, "") | {
        "client_time": None, "user_id": None, "product_id": None,
        "variant_id": None, "order_id": None, "value": None,
        "status_code": None, "duration_ms": None, "is_bot": False,
        "properties": {},
    }  # fmt: skip
    events = [
        base
        | {
            "event_id": str(uuid.uuid4()),
            "name": "page_view",
            "occurred_at": dt.datetime(2026, 3, 1, 10, 15, tzinfo=dt.UTC),
            "path": "/p/1",
        },
        base
        | {
            "event_id": str(uuid.uuid4()),
            "name": "purchase",
            "occurred_at": dt.datetime(2026, 3, 1, 11, 5, 9, 250001, tzinfo=dt.UTC),
            "client_time": dt.datetime(2026, 3, 1, 11, 5, 8, tzinfo=dt.UTC),
            "user_id": 42,
            "order_id": 7,
            "value": Decimal("1234567890.05"),
            "status_code": 200,
            "is_bot": True,
            "referrer": 'https://example.com/"x"\nline',
            "properties": {"items": [{"sku": "V-1", "qty": 2}], "note": "a\nb"},
        },
    ]
    keys = S3Sink(bucket="test-clicks", prefix="clickstream").write(events)
    assert len(keys) == 2 and all(k.endswith(".jsonl.gz") for k in keys)
    columns = declared_tables()["clickstream"]
    rows = read_back(download(client, "test-clicks", keys, tmp_path), columns)
    names = [name for name, _type in columns]
    fields = [f for f in Event._meta.concrete_fields if f.name != "id"]
    assert [f.attname for f in fields] == names
    got = sorted(
        (dict(zip(names, engine_row(r, fields), strict=True)) for r in rows),
        key=lambda r: r["occurred_at"],
    )
    assert got == [{c: as_written(e[c]) for c in names} for e in events]
