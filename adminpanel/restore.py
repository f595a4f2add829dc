"""
Rebuilding a database from the S3 archive written by ``archive.archive_run``.

Reference tables are loaded in full; time-based tables only for the days in
a window. Every file's MD5 is checked against ``archive_info.json`` before a
single row of it is loaded, and rows are inserted with their original
primary keys, ignoring those already present, so a second run adds nothing.

On PostgreSQL each file is streamed with ``COPY ... FROM STDIN`` into a
temporary staging table and moved over with ``INSERT ... SELECT ... ON
CONFLICT DO NOTHING``: an order of magnitude faster than the ORM, and the
archived ``auto_now`` values go in as they are. Other databases (SQLite in
development) take the ORM path.
"""

import csv
import datetime as dt
import hashlib
import io
import json
import tempfile
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from config.aws import aws_client
from shop.services import product_index_refresh

from .archive import (
    TABLES,
    TABLES_BY_NAME,
    ArchiveTable,
    csv_bytes_reader,
    info_load,
    table_schema,
)

BATCH = 2000


class RestoreError(Exception):
    pass


@dataclass
class TableRestore:
    name: str
    status: str = "ok"
    error: str = ""
    files: int = 0
    files_outside_window: int = 0
    rows_read: int = 0
    rows_added: int = 0


@dataclass
class RestoreResult:
    since: dt.date
    until: dt.date
    tables: list[TableRestore] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.status == "ok" for t in self.tables)


def decode_value(f: models.Field, text: str):
    """One archived cell back to a Python value: ``archive.encode_value``'s inverse."""
    if text == "":
        if f.null:
            return None
        if isinstance(f, models.CharField | models.TextField):
            return ""
        raise ValueError(f"column {f.attname} is empty but may not be NULL")
    if isinstance(f, models.ForeignKey):
        return int(text)
    if isinstance(f, models.BooleanField):
        if text not in {"true", "false"}:
            raise ValueError(f"column {f.attname}: {text!r} is not true or false")
        return text == "true"
    if isinstance(f, models.DecimalField):
        return Decimal(text)
    if isinstance(f, models.IntegerField | models.AutoField):
        return int(text)
    if isinstance(f, models.DateTimeField):
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    if isinstance(f, models.DateField):
        return dt.date.fromisoformat(text)
    if isinstance(f, models.JSONField):
        return json.loads(text)
    if isinstance(f, models.UUIDField):
        return uuid.UUID(text)
    return text


def restore_window(
    *,
    days_before: int = 1,
    days_after: int = 1,
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> tuple[dt.date, dt.date]:
    """The first and last day (UTC, inclusive) of time-based rows to load."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    since = since or today - dt.timedelta(days=days_before)
    until = until or today + dt.timedelta(days=days_after)
    if since > until:
        raise RestoreError(f"the window is empty: {since} is after {until}")
    return since, until


def _download(client, *, bucket: str, key: str, expected_md5: str):
    """Fetch to a spooled file, hashing on the way; raise on a mismatch."""
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    md5 = hashlib.md5(usedforsecurity=False)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    for chunk in body.iter_chunks(1024 * 1024):
        md5.update(chunk)
        spool.write(chunk)
    if md5.hexdigest() != expected_md5:
        spool.close()
        raise RestoreError(
            f"s3://{bucket}/{key}: MD5 {md5.hexdigest()} does not match "
            f"{expected_md5} recorded in archive_info.json (the file is corrupt "
            "or was changed); this table was not restored"
        )
    spool.seek(0)
    return spool


def _load_file(table, spool, *, key: str) -> int:
    """The ORM path (SQLite): decode each cell and bulk-insert."""
    model = table.model
    _check_header(table, spool, key=key)
    spool.seek(0)
    rows = csv_bytes_reader(spool)
    next(rows)
    fields = table.fields()
    is_user = model is apps_user()
    batch, read = [], 0
    for line, values in enumerate(rows, start=2):
        try:
            data = {
                f.attname: decode_value(f, v)
                for f, v in zip(fields, values, strict=True)
            }
        except ValueError as exc:
            raise RestoreError(f"{key}, line {line}: {exc}") from None
        if is_user:
            # Passwords are never archived; restored accounts sign in via
            # Cognito or get a new password.
            data["password"] = make_password(None)
        batch.append(model(**data))
        read += 1
        if len(batch) >= BATCH:
            model._default_manager.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        model._default_manager.bulk_create(batch, ignore_conflicts=True)
    return read


def _check_header(table, spool, *, key: str) -> None:
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
    try:
        header = next(csv.reader(text), None)
    finally:
        text.detach()  # leave the spool open for the load
    expected = table.columns()
    if header != expected:
        raise RestoreError(
            f"{key}: its columns {header} differ from the model's {expected}; "
            "the archive was written by another version of the schema"
        )


def _staging_create(cursor, table) -> str:
    """A temporary copy of the table's shape, emptied between tables."""
    qn = connection.ops.quote_name
    model = table.model
    staging = qn(f"restore_{model._meta.db_table}"[:63])
    cursor.execute(f"DROP TABLE IF EXISTS {staging}")
    cursor.execute(
        f"CREATE TEMP TABLE {staging} (LIKE {qn(model._meta.db_table)} "
        "INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    archived = set(table.columns())
    for f in model._meta.concrete_fields:
        if f.attname not in archived and not f.null:
            # Never archived (the password): filled in by the INSERT.
            cursor.execute(
                f"ALTER TABLE {staging} ALTER COLUMN {qn(f.column)} DROP NOT NULL"
            )
    return staging


def _copy_file(cursor, table, spool, *, key: str, staging: str) -> int:
    """Stream one verified CSV into the staging table; the rows read."""
    qn = connection.ops.quote_name
    _check_header(table, spool, key=key)
    spool.seek(0)
    fields = table.fields()
    options = ["FORMAT csv", "HEADER true", "ENCODING 'UTF8'"]
    # The archive writes NULL and '' alike as an empty field; in a column
    # that may not be NULL it can only have been ''.
    texts = [
        qn(f.column)
        for f in fields
        if not f.null and isinstance(f, models.CharField | models.TextField)
    ]
    if texts:
        options.append(f"FORCE_NOT_NULL ({', '.join(texts)})")
    sql = (
        f"COPY {staging} ({', '.join(qn(f.column) for f in fields)}) "
        f"FROM STDIN WITH ({', '.join(options)})"
    )
    raw = cursor.cursor
    try:
        raw.copy_expert(sql, spool, size=1024 * 1024)
        return raw.rowcount
    except connection.Database.Error as exc:
        raise RestoreError(f"{key}: {str(exc).strip()}") from None


def _insert_staged(cursor, table, *, staging: str) -> None:
    qn = connection.ops.quote_name
    model = table.model
    columns = [qn(f.column) for f in table.fields()]
    values = list(columns)
    if model is apps_user():
        # Passwords are never archived; an unusable one (Django's "!"
        # prefix), so restored accounts sign in via Cognito or a reset.
        columns.append(qn(model._meta.get_field("password").column))
        values.append("'!' || md5(random()::text || clock_timestamp()::text)")
    cursor.execute(
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {staging} ON CONFLICT DO NOTHING"
    )
    cursor.execute(f"DROP TABLE {staging}")


@contextmanager
def _keep_timestamps(model):
    """
    Let archived auto_now values through instead of stamping the load time.

    It changes the model's fields for the whole process, so it is only for
    the ORM path (SQLite); PostgreSQL's COPY path never needs it.
    """
    stamped = [
        f
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in stamped]
    for f in stamped:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def apps_user():
    return get_user_model()


def _table_files_load(
    *,
    client,
    bucket: str,
    table: ArchiveTable,
    files: dict,
    since: dt.date,
    until: dt.date,
    tresult: TableRestore,
) -> None:
    """Load the table's files for the window in one transaction."""
    use_copy = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        staging = None
        if use_copy:
            # Archived datetimes are naive UTC.
            cursor.execute("SET LOCAL TIME ZONE 'UTC'")
            staging = _staging_create(cursor, table)
        # A partition holds the rows of one UTC day, the same days
        # the window counts in, so a file is wholly in or out.
        for _rel, f in sorted(files.items()):
            if f.get("dt"):
                day = dt.date.fromisoformat(f["dt"])
                if not since <= day <= until:
                    tresult.files_outside_window += 1
                    continue
            spool = _download(
                client, bucket=bucket, key=f["key"], expected_md5=f["md5"]
            )
            with spool:
                if use_copy:
                    tresult.rows_read += _copy_file(
                        cursor, table, spool, key=f["key"], staging=staging
                    )
                else:
                    with _keep_timestamps(table.model):
                        tresult.rows_read += _load_file(table, spool, key=f["key"])
            tresult.files += 1
        if use_copy:
            _insert_staged(cursor, table, staging=staging)


def _table_restore(
    *,
    client,
    bucket: str,
    table: ArchiveTable,
    entry: dict | None,
    since: dt.date,
    until: dt.date,
    progress: Callable[[str], None] | None,
) -> TableRestore:
    """Restore one table from its ``archive_info.json`` entry; never raises."""
    tresult = TableRestore(name=table.name)
    if entry is None:
        tresult.status = "missing"
        tresult.error = "not in the archive"
        return tresult
    if entry.get("schema", {}).get("hash") != table_schema(table)["hash"]:
        tresult.status = "error"
        tresult.error = (
            f"the archived schema ({entry.get('schema', {}).get('hash')}) differs "
            f"from the model's ({table_schema(table)['hash']})"
        )
        return tresult
    model = table.model
    before = model._default_manager.count()
    try:
        _table_files_load(
            client=client,
            bucket=bucket,
            table=table,
            files=entry.get("files", {}),
            since=since,
            until=until,
            tresult=tresult,
        )
    except Exception as exc:
        tresult.status = "error"
        tresult.error = (
            str(exc)
            if isinstance(exc, RestoreError)
            else f"{type(exc).__name__}: {exc}"
        )
    tresult.rows_added = model._default_manager.count() - before
    if progress:
        progress(
            f"{table.name}: {tresult.rows_read} rows read, {tresult.rows_added} added"
            + (f" — FAILED: {tresult.error}" if tresult.status != "ok" else "")
        )
    return tresult


def _sequences_reset(*, restored: list[type[models.Model]]) -> None:
    """Move the id sequences past the ids the rows came with."""
    sql = connection.ops.sequence_reset_sql(no_style(), restored)
    if sql:
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)


def restore_run(
    *,
    bucket: str | None = None,
    prefix: str | None = None,
    tables: list[str] | None = None,
    days_before: int = 1,
    days_after: int = 1,
    since: dt.date | None = None,
    until: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> RestoreResult:
    """
    Load the archive into this database: reference tables in full, time-based
    tables for the days from ``since`` to ``until``.

    Idempotent. A table whose file fails its MD5 check, or cannot be loaded,
    is rolled back and recorded as failed; the others go on.
    """
    bucket = bucket or settings.AWS_ARCHIVE_BUCKET
    prefix = settings.AWS_ARCHIVE_PREFIX if prefix is None else prefix
    since, until = restore_window(
        days_before=days_before, days_after=days_after, since=since, until=until
    )
    names = tables or [t.name for t in TABLES]
    unknown = [n for n in names if n not in TABLES_BY_NAME]
    if unknown:
        raise RestoreError(f"unknown table(s): {', '.join(unknown)}")
    client = aws_client("s3")
    info = info_load(bucket=bucket, prefix=prefix, client=client)
    if info is None:
        raise RestoreError(
            f"there is no archive_info.json under s3://{bucket}/{prefix}"
        )
    result = RestoreResult(since=since, until=until)
    restored_models = []
    for table in TABLES:
        if table.name not in names:
            continue
        tresult = _table_restore(
            client=client,
            bucket=bucket,
            table=table,
            entry=info.get("tables", {}).get(table.name),
            since=since,
            until=until,
            progress=progress,
        )
        result.tables.append(tresult)
        if tresult.rows_added:
            restored_models.append(table.model)
    if restored_models:
        _sequences_reset(restored=restored_models)
        if any(
            m._meta.label in {"shop.Product", "shop.ProductVariant"}
            for m in restored_models
        ):
            product_index_refresh()
    return result
