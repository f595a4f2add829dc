"""
The S3 archive of the shop's database: one file per reference table and one
per day for time-based tables, each with its MD5 recorded in
``archive_info.json`` so that an unchanged file is never uploaded again.

Layout under ``s3://<bucket>/<prefix>/``::

    archive_info.json
    categories/part.jsonl
    events/dt=2024-05-01/part.jsonl
    ...

Files are JSON Lines as Athena's Hive JSON SerDe reads them
(``analytics.jsonlines``: NULL as ``null``, UTC timestamps as
``YYYY-MM-DD HH:MM:SS.ffffff``, line breaks escaped), declared by
``adminpanel.athena``. ``--excel`` writes CSV instead (``part.csv``, RFC
4180 with a BOM, NULL an empty field, formula cells neutralised), for
spreadsheets and not for Athena; restore reads either, by the file's name.
"""

import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from analytics.jsonlines import json_keys, json_line
from config.aws import aws_client

from .exports import FORMULA_PREFIXES

logger = logging.getLogger(__name__)

INFO_NAME = "archive_info.json"
FORMAT_VERSION = 2
# Columns never archived: a password hash does not belong in a data lake and
# the search vector is rebuilt from the other columns.
EXCLUDED_COLUMNS = {"password", "search_vector"}


@dataclass(frozen=True)
class ArchiveTable:
    name: str
    model_label: str
    # The column whose UTC date names the partition; None for reference data.
    time_field: str | None = None
    # How to reach the time column from this model, when it is elsewhere.
    time_lookup: str | None = None
    # Rows are only ever added or deleted, never changed (analytics.Event):
    # a day's row count and ids then tell whether it changed, without
    # hashing every row.
    append_only: bool = False

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    @property
    def partitioned(self) -> bool:
        return self.time_field is not None

    def fields(self) -> list[models.Field]:
        return [
            f
            for f in self.model._meta.concrete_fields
            if f.name not in EXCLUDED_COLUMNS
        ]

    def columns(self) -> list[str]:
        return [f.attname for f in self.fields()]


# In load order: a table comes after the ones its foreign keys point at.
TABLES = [
    ArchiveTable("categories", "shop.Category"),
    ArchiveTable("customers", "accounts.User"),
    ArchiveTable("products", "shop.Product"),
    ArchiveTable("product_images", "shop.ProductImage"),
    ArchiveTable("variants", "shop.ProductVariant"),
    ArchiveTable("addresses", "accounts.Address"),
    ArchiveTable("orders", "shop.Order", "created_at"),
    ArchiveTable("order_lines", "shop.OrderLine", "created_at", "order__created_at"),
    ArchiveTable("events", "analytics.Event", "occurred_at", append_only=True),
    ArchiveTable("sessions", "analytics.SessionSummary", "started_at"),
    ArchiveTable("rollups", "analytics.HourlyRollup", "hour"),
]
TABLES_BY_NAME = {t.name: t for t in TABLES}


def athena_type(f: models.Field) -> str:
    """The Hive/Athena type of a model field's column."""
    if isinstance(f, models.ForeignKey):
        return athena_type(f.target_field)
    if isinstance(f, models.BooleanField):
        return "boolean"
    if isinstance(f, models.DecimalField):
        return f"decimal({f.max_digits},{f.decimal_places})"
    if isinstance(f, models.BigIntegerField | models.BigAutoField):
        return "bigint"
    if isinstance(f, models.SmallIntegerField | models.PositiveSmallIntegerField):
        return "smallint"
    if isinstance(f, models.IntegerField | models.AutoField):
        return "int"
    if isinstance(f, models.FloatField):
        return "double"
    if isinstance(f, models.DateTimeField):
        return "timestamp"
    if isinstance(f, models.DateField):
        return "date"
    return "string"


def table_schema(table: ArchiveTable) -> dict:
    columns = [{"name": f.attname, "type": athena_type(f)} for f in table.fields()]
    digest = hashlib.sha256(json.dumps(columns, sort_keys=True).encode()).hexdigest()
    return {"columns": columns, "hash": digest[:16]}


def encode_value(value) -> str:
    """One CSV cell (``--excel``): the inverse of ``restore.decode_value``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    return str(value)


def excel_neutralise(text: str) -> str:
    """
    A text cell a spreadsheet will not run as a formula: a leading apostrophe
    before a formula character, and before an apostrophe, so that
    ``excel_restore`` gives back exactly the text.
    """
    return "'" + text if text.startswith((*FORMULA_PREFIXES, "'")) else text


def excel_restore(text: str) -> str:
    """The text ``excel_neutralise`` was given."""
    return text[1:] if text.startswith("'") else text


def is_text(f: models.Field) -> bool:
    """A column of free text (where a formula could hide)."""
    return isinstance(f, models.CharField | models.TextField | models.FileField)


def key_for(
    prefix: str, table: str, day: dt.date | None, *, excel: bool = False
) -> str:
    parts = [prefix.strip("/")] if prefix.strip("/") else []
    parts.append(table)
    if day is not None:
        parts.append(f"dt={day.isoformat()}")
    parts.append("part.csv" if excel else "part.jsonl")
    return "/".join(parts)


def info_key(prefix: str) -> str:
    return f"{prefix.strip('/')}/{INFO_NAME}" if prefix.strip("/") else INFO_NAME


class ArchiveInfoError(ValueError):
    """``archive_info.json`` exists but cannot be read as an archive's record."""


def info_load(*, bucket: str, prefix: str, client=None) -> dict | None:
    """
    The recorded ``archive_info.json``, or None when there is none yet.
    Raises ArchiveInfoError when it is not the record an archive writes.
    """
    client = client or aws_client("s3")
    key = info_key(prefix)
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except client.exceptions.NoSuchKey:
        return None
    where = f"s3://{bucket}/{key}"
    try:
        info = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArchiveInfoError(
            f"{where} is not valid JSON ({exc}); the archive's record is "
            "corrupt: restore it from a backup or a bucket version"
        ) from None
    tables = info.get("tables") if isinstance(info, dict) else None
    if not isinstance(tables, dict) or not all(
        isinstance(t, dict)
        and isinstance(t.get("files", {}), dict)
        and all(
            isinstance(f, dict) and {"key", "md5"} <= f.keys()
            for f in t.get("files", {}).values()
        )
        for t in tables.values()
    ):
        raise ArchiveInfoError(
            f"{where} does not have the shape of an archive's record (tables, "
            "each with files that have a key and an MD5); it is corrupt"
        )
    return info


class _HashingFile:
    """Text sink (for csv.writer too) that hashes and spools the encoded bytes."""

    def __init__(self, bom: bool):
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        self.bytes = 0
        self.rows = 0
        if bom:
            self._put("\ufeff")

    def _put(self, text: str) -> None:
        self.put_bytes(text.encode("utf-8"))

    def put_bytes(self, data: bytes) -> None:
        self.md5.update(data)
        self.spool.write(data)
        self.bytes += len(data)

    def write(self, text: str) -> None:
        self._put(text)


@dataclass
class TableResult:
    name: str
    status: str = "ok"
    error: str = ""
    rows: int = 0
    files_uploaded: int = 0
    files_unchanged: int = 0
    bytes_uploaded: int = 0


@dataclass
class ArchiveResult:
    bucket: str
    prefix: str
    tables: list[TableResult] = field(default_factory=list)
    info_written: bool = False
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return all(t.status == "ok" for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def _iter_files(
    table: ArchiveTable, *, excel: bool, chunk_size: int = 5000
) -> Iterator[tuple[dt.date | None, _HashingFile]]:
    """Stream the table and yield one finished file per partition."""
    columns = table.columns()
    keys = json_keys(columns)
    # For Excel, text cells are neutralised as the dashboards' CSVs are.
    texts = [is_text(f) for f in table.fields()]
    for day, rows in _day_groups(table, chunk_size=chunk_size):
        out = _HashingFile(bom=excel)
        if excel:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow(
                    excel_neutralise(c) if text else c
                    for c, text in zip(map(encode_value, row), texts, strict=True)
                )
                out.rows += 1
        else:
            for row in rows:
                out.write(json_line(keys, row) + "\n")
                out.rows += 1
        yield day, out


def _day_groups(
    table: ArchiveTable, *, chunk_size: int
) -> Iterator[tuple[dt.date | None, Iterator[tuple]]]:
    """
    The table's rows by id, in one group per UTC day for a time-based table;
    a reference table is one group, even when empty (its file is still
    written).
    """
    qs = table.model._default_manager.all()
    if not table.partitioned:
        rows = qs.order_by("pk").values_list(*table.columns())
        yield None, rows.iterator(chunk_size=chunk_size)
        return
    lookup = table.time_lookup or table.time_field
    rows = qs.order_by(lookup, "pk").values_list(lookup, *table.columns())
    for day, group in itertools.groupby(
        rows.iterator(chunk_size=chunk_size),
        key=lambda row: row[0].astimezone(dt.UTC).date(),
    ):
        yield day, (row[1:] for row in group)


def _changed_files(
    table: ArchiveTable, *, excel: bool, old_files: dict, reusable: bool
) -> Iterator[tuple[dt.date | None, _HashingFile | None, list | None]]:
    """
    (day, file, fingerprint) for each partition; the file is None when the
    partition's fingerprint is the one recorded with its uploaded file.
    """
    if excel or connection.vendor != "postgresql":
        for day, out in _iter_files(table, excel=excel):
            yield day, out, None
        return
    with connection.cursor() as cursor:
        # Taken before any export: a change made meanwhile is in the file
        # but not in its fingerprint, so the next run exports it again.
        fingerprints = _pg_fingerprints(cursor, table)
        for day in sorted(fingerprints, key=lambda d: d or dt.date.min):
            fingerprint = fingerprints[day]
            recorded = old_files.get(key_for("", table.name, day), {})
            if (
                reusable
                and recorded.get("fingerprint") == fingerprint
                and recorded.get("status") in {"uploaded", "unchanged"}
            ):
                yield day, None, fingerprint
            else:
                yield day, _pg_export(cursor, table, day), fingerprint


def _pg_source(table: ArchiveTable) -> tuple[str, str | None]:
    """
    The FROM clause (the table as ``t``) and the SQL of the moment that
    names the partition, from ``time_field`` / ``time_lookup``.
    """
    qn = connection.ops.quote_name
    model = table.model
    source = f"{qn(model._meta.db_table)} t"
    if not table.partitioned:
        return source, None
    if not table.time_lookup:
        return source, f"t.{qn(model._meta.get_field(table.time_field).column)}"
    relation, time_name = table.time_lookup.split("__")
    fk = model._meta.get_field(relation)
    parent = fk.related_model._meta
    source += (
        f" JOIN {qn(parent.db_table)} p ON p.{qn(parent.pk.column)} = t.{qn(fk.column)}"
    )
    return source, f"p.{qn(parent.get_field(time_name).column)}"


def _pg_fingerprints(cursor, table: ArchiveTable) -> dict[dt.date | None, list]:
    """
    Each partition's fingerprint in one query: row count, lowest, highest
    and sum of ids, and (unless append-only) an XOR of the rows' hashes.
    """
    source, moment = _pg_source(table)
    pk = f"t.{connection.ops.quote_name(table.model._meta.pk.column)}"
    digest = "0" if table.append_only else "bit_xor(hashtextextended(t::text, 0))"
    columns = f"count(*), min({pk}), max({pk}), sum({pk}), {digest}"
    if moment is None:
        cursor.execute(f"SELECT NULL, {columns} FROM {source}")
    else:
        cursor.execute(
            f"SELECT ({moment} AT TIME ZONE 'UTC')::date, {columns} "
            f"FROM {source} GROUP BY 1"
        )
    return {
        day: [int(v) if v is not None else None for v in values]
        for day, *values in cursor.fetchall()
    }


def _pg_json(f: models.Field) -> str:
    """The SQL of a column in the form ``analytics.jsonlines`` writes it."""
    column = f"t.{connection.ops.quote_name(f.column)}"
    if isinstance(f, models.DateTimeField):
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    if isinstance(f, models.DateField):
        return f"to_char({column}, 'YYYY-MM-DD')"
    if isinstance(f, models.JSONField | models.UUIDField):
        return f"{column}::text"
    return column


class _CopySink:
    """What ``copy_expert`` writes COPY's bytes to: one row a line."""

    def __init__(self, out: _HashingFile):
        self.out = out

    def write(self, data: bytes) -> None:
        self.out.put_bytes(data)
        self.out.rows += data.count(b"\n")


def _pg_export(cursor, table: ArchiveTable, day: dt.date | None) -> _HashingFile:
    """
    One partition as JSON Lines, built by PostgreSQL and streamed with
    ``COPY ... TO STDOUT``: JSON text never holds a raw line break or a
    control character, so CSV with those as quote and delimiter passes
    each line through untouched.
    """
    qn = connection.ops.quote_name
    source, moment = _pg_source(table)
    columns = ", ".join(f"{_pg_json(f)} AS {qn(f.attname)}" for f in table.fields())
    where, params = "", []
    if day is not None:
        start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        where = f" WHERE {moment} >= %s AND {moment} < %s"
        params = [start, start + dt.timedelta(days=1)]
    raw = cursor.cursor
    # row_to_json writes compact JSON, its keys the columns in order.
    query = raw.mogrify(
        f"SELECT row_to_json(r)::text FROM (SELECT {columns} FROM {source}{where}) r "
        f"ORDER BY r.{qn(table.model._meta.pk.attname)}",
        params,
    ).decode()
    out = _HashingFile(bom=False)
    raw.copy_expert(
        f"COPY ({query}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', "
        "QUOTE E'\\x01')",
        _CopySink(out),
        size=1024 * 1024,
    )
    return out


def _transfer_config() -> TransferConfig:
    """boto3's managed transfer: multipart from ARCHIVE_MULTIPART_THRESHOLD."""
    return TransferConfig(
        multipart_threshold=settings.ARCHIVE_MULTIPART_THRESHOLD,
        multipart_chunksize=settings.ARCHIVE_MULTIPART_CHUNK,
        max_concurrency=4,
    )


def _upload(
    client, transfer, *, bucket: str, key: str, out: _HashingFile, excel: bool
) -> None:
    """
    Upload with boto3's managed transfer (``transfer``, one for the whole
    run) and check the stored object's ETag against our MD5.
    """
    md5_hex = out.md5.hexdigest()
    threshold = settings.ARCHIVE_MULTIPART_THRESHOLD
    chunk = settings.ARCHIVE_MULTIPART_CHUNK
    out.spool.seek(0)
    transfer.upload(
        out.spool,
        bucket,
        key,
        extra_args={
            "ContentType": (
                "text/csv; charset=utf-8" if excel else "application/x-ndjson"
            ),
            "Metadata": {"md5": md5_hex},
        },
    ).result()
    expected = md5_hex
    if out.bytes >= threshold:
        # A multipart ETag is the MD5 of the parts' MD5s, then "-<parts>".
        out.spool.seek(0)
        digests = []
        while part := out.spool.read(chunk):
            digests.append(hashlib.md5(part, usedforsecurity=False).digest())
        expected = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
        expected = f"{expected}-{len(digests)}"
    etag = client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    if etag != expected:
        raise RuntimeError(f"{key}: S3 stored ETag {etag}, expected {expected}")


def _now() -> str:
    return timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds")


def _comparable(info: dict | None) -> dict:
    """What must match for the archive to be unchanged (no times, no statuses)."""
    if not info:
        return {}
    return {
        name: {
            "schema": t.get("schema", {}).get("hash"),
            "status": t.get("status"),
            "files": {
                k: (f.get("md5"), f.get("rows"), f.get("bytes"), f.get("fingerprint"))
                for k, f in t["files"].items()
            },
        }
        for name, t in info.get("tables", {}).items()
    }


def _file_entry(
    *,
    key: str,
    day: dt.date | None,
    out: _HashingFile,
    recorded: dict,
    reusable: bool,
) -> dict:
    """
    The file's record for ``archive_info.json``: "unchanged" when the archive
    may be reused and the recorded upload has the same MD5, else "uploaded".
    """
    md5 = out.md5.hexdigest()
    unchanged = (
        reusable
        and recorded.get("md5") == md5
        and recorded.get("status") in {"uploaded", "unchanged", "kept"}
    )
    return {
        "key": key,
        "dt": day.isoformat() if day else None,
        "md5": md5,
        "rows": out.rows,
        "bytes": out.bytes,
        "status": "unchanged" if unchanged else "uploaded",
        "error": None,
    }


def _table_files_archive(
    *,
    client,
    transfer,
    table: ArchiveTable,
    bucket: str,
    prefix: str,
    old_files: dict,
    reusable: bool,
    dry_run: bool,
    excel: bool,
    tresult: TableResult,
    entry: dict,
) -> None:
    """
    Upload the table's changed files; record the unchanged and the pruned.

    On PostgreSQL (JSON Lines) a day whose fingerprint is the recorded one
    is not read at all; the others are exported with ``COPY``.
    """
    for day, out, fingerprint in _changed_files(
        table, excel=excel, old_files=old_files, reusable=reusable
    ):
        rel = key_for("", table.name, day, excel=excel)
        if out is None:
            # The recorded file holds exactly these rows.
            old = old_files[rel]
            entry["files"][rel] = {**old, "status": "unchanged", "error": None}
            tresult.rows += old["rows"]
            entry["rows"] += old["rows"]
            entry["bytes"] += old["bytes"]
            tresult.files_unchanged += 1
            continue
        file_entry = _file_entry(
            key=key_for(prefix, table.name, day, excel=excel),
            day=day,
            out=out,
            recorded=old_files.get(rel, {}),
            reusable=reusable,
        )
        file_entry["excel"] = excel
        if fingerprint is not None:
            file_entry["fingerprint"] = fingerprint
        # Recorded before the upload so that a failure is recorded too.
        entry["files"][rel] = file_entry
        unchanged = file_entry["status"] == "unchanged"
        if not unchanged and not dry_run:
            try:
                _upload(
                    client,
                    transfer,
                    bucket=bucket,
                    key=file_entry["key"],
                    out=out,
                    excel=excel,
                )
            except Exception as exc:
                file_entry.update(status="error", error=str(exc))
                raise
        out.spool.close()
        tresult.rows += out.rows
        entry["rows"] += out.rows
        entry["bytes"] += out.bytes
        if unchanged:
            tresult.files_unchanged += 1
        else:
            tresult.files_uploaded += 1
            tresult.bytes_uploaded += out.bytes
    # A day whose rows are no longer in the database (pruned) keeps its file:
    # archived days are immutable, and the archive is then their only copy.
    # A day written now in the other format (CSV for --excel, JSON Lines)
    # replaces its old record; the old object stays in the bucket.
    written = {f["dt"] for f in entry["files"].values()}
    for rel, old in old_files.items():
        if rel not in entry["files"] and old.get("dt") not in written:
            entry["files"][rel] = {**old, "status": "kept"}
            entry["rows"] += old.get("rows", 0)
            entry["bytes"] += old.get("bytes", 0)


def _table_archive(
    *,
    client,
    transfer,
    table: ArchiveTable,
    bucket: str,
    prefix: str,
    old_table: dict,
    force: bool,
    dry_run: bool,
    excel: bool,
    progress: Callable[[str], None] | None,
) -> tuple[TableResult, dict]:
    """
    Archive one table; returns its result and its ``archive_info.json``
    entry. A failure is recorded in both, not raised.
    """
    tresult = TableResult(name=table.name)
    old_files = old_table.get("files", {})
    schema = table_schema(table)
    same_schema = old_table.get("schema", {}).get("hash") == schema["hash"]
    entry = {
        "status": "ok",
        "error": None,
        "time_field": table.time_field,
        # Text cells were neutralised for Excel: restore gives them back.
        "excel": excel,
        "schema": schema,
        "started_at": _now(),
        "finished_at": None,
        "rows": 0,
        "bytes": 0,
        # Restore moves the id sequence past it, even for a partial restore.
        "max_pk": max(
            (
                pk
                for pk in (
                    table.model._default_manager.aggregate(top=models.Max("pk"))["top"],
                    old_table.get("max_pk"),
                )
                if isinstance(pk, int)
            ),
            default=None,
        ),
        "files": {},
    }
    try:
        _table_files_archive(
            client=client,
            transfer=transfer,
            table=table,
            bucket=bucket,
            prefix=prefix,
            old_files=old_files,
            reusable=not force and same_schema,
            dry_run=dry_run,
            excel=excel,
            tresult=tresult,
            entry=entry,
        )
        if progress:
            progress(
                f"{table.name}: {tresult.rows} rows, {tresult.files_uploaded} files "
                f"{'to upload' if dry_run else 'uploaded'}, {tresult.files_unchanged} unchanged"
            )
    except Exception as exc:
        logger.exception("archive of %s failed", table.name)
        tresult.status = "error"
        tresult.error = f"{type(exc).__name__}: {exc}"
        entry["status"] = "error"
        entry["error"] = tresult.error
        # Files not reached this time keep their last good record.
        for rel, old in old_files.items():
            entry["files"].setdefault(rel, old)
        if progress:
            progress(f"{table.name}: FAILED: {tresult.error}")
    entry["finished_at"] = _now()
    return tresult, entry


def archive_run(
    *,
    bucket: str | None = None,
    prefix: str | None = None,
    tables: list[str] | None = None,
    force: bool = False,
    dry_run: bool = False,
    excel: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ArchiveResult:
    """
    Archive the chosen tables to S3, uploading only the files whose MD5
    differs from the one recorded in ``archive_info.json``.

    One table failing is recorded and the others go on (check
    ``result.ok``). When nothing changed, nothing is PUT at all, not even
    ``archive_info.json``. ``dry_run`` computes everything and uploads nothing.
    """
    bucket = bucket or settings.AWS_ARCHIVE_BUCKET
    prefix = settings.AWS_ARCHIVE_PREFIX if prefix is None else prefix
    names = tables or [t.name for t in TABLES]
    unknown = [n for n in names if n not in TABLES_BY_NAME]
    if unknown:
        raise ValueError(
            f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(TABLES_BY_NAME)}"
        )
    client = aws_client("s3")
    old_info = info_load(bucket=bucket, prefix=prefix, client=client) or {}
    info = {
        "version": FORMAT_VERSION,
        "bucket": bucket,
        "prefix": prefix,
        "started_at": _now(),
        "finished_at": None,
        "status": "ok",
        "tables": dict(old_info.get("tables", {})),
    }
    result = ArchiveResult(bucket=bucket, prefix=prefix, dry_run=dry_run)
    with create_transfer_manager(client, _transfer_config()) as transfer:
        for name in names:
            tresult, entry = _table_archive(
                client=client,
                transfer=transfer,
                table=TABLES_BY_NAME[name],
                bucket=bucket,
                prefix=prefix,
                old_table=old_info.get("tables", {}).get(name, {}),
                force=force,
                dry_run=dry_run,
                excel=excel,
                progress=progress,
            )
            result.tables.append(tresult)
            info["tables"][name] = entry
            if entry["status"] == "error":
                info["status"] = "error"
    info["finished_at"] = _now()
    if not dry_run and (force or _comparable(info) != _comparable(old_info)):
        client.put_object(
            Bucket=bucket,
            Key=info_key(prefix),
            Body=json.dumps(info, indent=2, sort_keys=True).encode(),
            ContentType="application/json",
        )
        result.info_written = True
    return result


def archive_state(*, bucket: str | None = None, prefix: str | None = None) -> dict:
    """
    The archive as ``archive_info.json`` records it, for the Data page.

    Never raises: when S3 cannot be reached or the file is unreadable, the
    answer carries ``error`` and an empty ``tables``.
    """
    bucket = bucket or settings.AWS_ARCHIVE_BUCKET
    prefix = settings.AWS_ARCHIVE_PREFIX if prefix is None else prefix
    state = {
        "bucket": bucket,
        "prefix": prefix,
        "error": None,
        "exists": False,
        "tables": [],
    }
    try:
        info = info_load(
            bucket=bucket, prefix=prefix, client=aws_client("s3", timeout=3, retries=1)
        )
    except Exception as exc:
        state["error"] = f"the archive cannot be read: {type(exc).__name__}: {exc}"
        return state
    if info is None:
        return state
    state.update(
        exists=True,
        started_at=info.get("started_at"),
        finished_at=info.get("finished_at"),
        status=info.get("status"),
    )
    for name, t in info.get("tables", {}).items():
        files = t.get("files", {})
        days = sorted(f["dt"] for f in files.values() if f.get("dt"))
        state["tables"].append(
            {
                "name": name,
                "status": t.get("status"),
                "error": t.get("error"),
                "rows": t.get("rows", 0),
                "bytes": t.get("bytes", 0),
                "files": len(files),
                "files_error": sum(
                    1 for f in files.values() if f.get("status") == "error"
                ),
                "first_day": days[0] if days else None,
                "last_day": days[-1] if days else None,
                "finished_at": t.get("finished_at"),
                "schema_hash": t.get("schema", {}).get("hash"),
            }
        )
    return state


def csv_bytes_reader(data: io.BufferedIOBase) -> Iterator[list[str]]:
    """Rows of an archived CSV read from a binary stream (BOM tolerated)."""
    text = io.TextIOWrapper(data, encoding="utf-8-sig", newline="")
    yield from csv.reader(text)
