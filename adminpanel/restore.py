"""
Rebuilding a database from the S3 archive written by ``archive.archive_run``.

Reference tables are loaded in full; time-based tables only for the days in
a window. Every file's MD5 is checked against ``archive_info.json`` before a
single row of it is loaded, and rows are inserted with their original
primary keys, ignoring those already present, so a second run adds nothing.
"""

import datetime as dt
import hashlib
import json
import tempfile
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from config.aws import aws_client

from .archive import TABLES, TABLES_BY_NAME, csv_bytes_reader, info_load, table_schema

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
    model = table.model
    by_column = {f.attname: f for f in table.fields()}
    rows = csv_bytes_reader(spool)
    header = next(rows, None)
    expected = table.columns()
    if header != expected:
        raise RestoreError(
            f"{key}: its columns {header} differ from the model's {expected}; "
            "the archive was written by another version of the schema"
        )
    fields = [by_column[c] for c in header]
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


@contextmanager
def _keep_timestamps(model):
    """Let archived auto_now values through instead of stamping the load time."""
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
    from django.contrib.auth import get_user_model

    return get_user_model()


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
    from shop.services import product_index_refresh

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
        tresult = TableRestore(name=table.name)
        result.tables.append(tresult)
        entry = info.get("tables", {}).get(table.name)
        if entry is None:
            tresult.status = "missing"
            tresult.error = "not in the archive"
            continue
        if entry.get("schema", {}).get("hash") != table_schema(table)["hash"]:
            tresult.status = "error"
            tresult.error = (
                f"the archived schema ({entry.get('schema', {}).get('hash')}) differs "
                f"from the model's ({table_schema(table)['hash']})"
            )
            continue
        model = table.model
        before = model._default_manager.count()
        try:
            with transaction.atomic():
                for _rel, f in sorted(entry.get("files", {}).items()):
                    if f.get("dt"):
                        day = dt.date.fromisoformat(f["dt"])
                        if not since <= day <= until:
                            tresult.files_outside_window += 1
                            continue
                    spool = _download(
                        client, bucket=bucket, key=f["key"], expected_md5=f["md5"]
                    )
                    with spool, _keep_timestamps(model):
                        tresult.rows_read += _load_file(table, spool, key=f["key"])
                    tresult.files += 1
        except Exception as exc:
            tresult.status = "error"
            tresult.error = (
                str(exc)
                if isinstance(exc, RestoreError)
                else f"{type(exc).__name__}: {exc}"
            )
        tresult.rows_added = model._default_manager.count() - before
        if tresult.rows_added:
            restored_models.append(model)
        if progress:
            progress(
                f"{table.name}: {tresult.rows_read} rows read, {tresult.rows_added} added"
                + (f" — FAILED: {tresult.error}" if tresult.status != "ok" else "")
            )
    if restored_models:
        # Rows came with their own ids: move the sequences past them.
        sql = connection.ops.sequence_reset_sql(no_style(), restored_models)
        if sql:
            with connection.cursor() as cursor:
                for statement in sql:
                    cursor.execute(statement)
        if any(
            m._meta.label in {"shop.Product", "shop.ProductVariant"}
            for m in restored_models
        ):
            product_index_refresh()
    return result
