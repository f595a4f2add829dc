"""
Rebuilding a database from the S3 archive written by ``archive.archive_run``.

Reference tables are loaded in full; time-based tables only for the days in
a window. Every file's MD5 is checked against ``archive_info.json`` before a
single row of it is loaded, and rows are inserted with their original
primary keys, ignoring those already present, so a second run adds nothing.

Files are JSON Lines (``part.jsonl``, ``analytics.jsonlines``) or, from
``--excel`` archives and archives older than them, CSV (``part.csv``); the
name says which. On PostgreSQL each file is streamed with ``COPY ... FROM
STDIN`` (JSON Lines turned into CSV rows on the way, one row a line, so an
error's line number is the file's) into a temporary staging table and moved
over with ``INSERT ... SELECT``: an order of magnitude faster than the ORM,
and the archived ``auto_now`` values go in as they are. Other databases
(SQLite in development) take the ORM path.
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
from shop.services import product_index_refresh, tables_analyze

from .archive import (
    EXCLUDED_COLUMNS,
    TABLES,
    TABLES_BY_NAME,
    ArchiveInfoError,
    ArchiveTable,
    csv_bytes_reader,
    excel_restore,
    info_load,
    is_text,
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
    # Rows an earlier restore of the same archive already wrote (--add).
    rows_present: int = 0


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
        if isinstance(f, models.CharField | models.TextField | models.FileField):
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


def decode_json_value(f: models.Field, value):
    """
    One value of a JSON line (read with ``parse_float=Decimal``) back to a
    Python value: ``analytics.jsonlines.json_value``'s inverse.
    """
    if value is None:
        if f.null:
            return None
        raise ValueError(f"column {f.attname} is null but may not be NULL")
    if isinstance(f, models.BooleanField):
        if not isinstance(value, bool):
            raise ValueError(f"column {f.attname}: {value!r} is not true or false")
        return value
    if is_text(f):
        if not isinstance(value, str):
            raise ValueError(f"column {f.attname}: {value!r} is not text")
        return value
    if isinstance(value, bool | dict | list):
        raise ValueError(
            f"column {f.attname}: {value!r} is not a {f.get_internal_type()}"
        )
    # Numbers keep their exact text (Decimal), times and JSON are text.
    return decode_value(f, str(value))


def _jsonl_rows(spool, columns: list[str], *, key: str):
    """(line number, values in column order) of an archived JSON Lines file."""
    spool.seek(0)
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="\n")
    try:
        for line, body in enumerate(text, start=1):
            try:
                obj = json.loads(body, parse_float=Decimal)
            except ValueError as exc:
                raise RestoreError(f"{key}, line {line}: not JSON ({exc})") from None
            if not isinstance(obj, dict) or list(obj) != columns:
                got = list(obj) if isinstance(obj, dict) else type(obj).__name__
                raise RestoreError(
                    f"{key}, line {line}: its columns {got} differ from the "
                    f"model's {columns}; the archive was written by another "
                    "version of the schema"
                )
            yield line, list(obj.values())
    finally:
        text.detach()  # the spool stays open until the restore ends


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
            "or was changed); nothing was restored"
        )
    spool.seek(0)
    return spool


def _orm_insert(model, batch: list, *, add: bool, key: str) -> int:
    """
    Insert a batch; returns how many were new. Without ``add`` every row must
    be new (a conflict raises). With it, a row already present must be equal
    to the archived one: it is then left alone, never overwritten or re-pointed.
    """
    if add:
        present = model._default_manager.in_bulk([obj.pk for obj in batch])
        fields = [f.attname for f in model._meta.concrete_fields]
        for obj in batch:
            old = present.get(obj.pk)
            if old is not None and any(
                getattr(old, f) != getattr(obj, f)
                for f in fields
                if f not in EXCLUDED_COLUMNS
            ):
                raise RestoreError(
                    f"{key}: {model._meta.db_table} id {obj.pk} differs from the "
                    "archived row; --add only adds to a restore of this archive"
                )
        batch = [obj for obj in batch if obj.pk not in present]
    model._default_manager.bulk_create(batch)
    return len(batch)


def _csv_rows(table, spool, *, key: str, excel: bool):
    """(line number, decoded values) of an archived CSV file."""
    _check_header(table, spool, key=key)
    spool.seek(0)
    rows = csv_bytes_reader(spool)
    next(rows)
    fields = table.fields()
    for line, values in enumerate(rows, start=2):
        try:
            yield (
                line,
                [
                    decode_value(f, excel_restore(v) if excel and is_text(f) else v)
                    for f, v in zip(fields, values, strict=True)
                ],
            )
        except ValueError as exc:
            raise RestoreError(f"{key}, line {line}: {exc}") from None


def _decoded_rows(table, spool, *, key: str, excel: bool):
    """(line number, Python values) of an archived file, CSV or JSON Lines."""
    if key.endswith(".csv"):
        yield from _csv_rows(table, spool, key=key, excel=excel)
        return
    fields = table.fields()
    for line, values in _jsonl_rows(spool, table.columns(), key=key):
        try:
            yield (
                line,
                [decode_json_value(f, v) for f, v in zip(fields, values, strict=True)],
            )
        except ValueError as exc:
            raise RestoreError(f"{key}, line {line}: {exc}") from None


def _load_file(
    table, spool, *, key: str, add: bool = False, excel: bool = False
) -> tuple[int, int]:
    """The ORM path (SQLite): decode each cell and insert. (read, added)."""
    model = table.model
    columns = table.columns()
    is_user = model is apps_user()
    batch, read, added = [], 0, 0
    for _line, values in _decoded_rows(table, spool, key=key, excel=excel):
        data = dict(zip(columns, values, strict=True))
        if is_user:
            # Passwords are never archived; restored accounts sign in via
            # Cognito or get a new password.
            data["password"] = make_password(None)
        batch.append(model(**data))
        read += 1
        if len(batch) >= BATCH:
            added += _orm_insert(model, batch, add=add, key=key)
            batch = []
    if batch:
        added += _orm_insert(model, batch, add=add, key=key)
    return read, added


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


def _jsonl_as_csv(table, spool, *, key: str):
    """
    A verified JSON Lines file as CSV rows for COPY, one row a line: NULL
    unquoted and empty, every other value quoted, so text stays text.
    """
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+")  # noqa: SIM115
    writer = csv.writer(out, quoting=csv.QUOTE_NOTNULL, lineterminator="\n")
    for _line, values in _jsonl_rows(spool, table.columns(), key=key):
        writer.writerow(
            json.dumps(v) if isinstance(v, dict | list) else v for v in values
        )
    out.seek(0)
    return out


def _copy_file(cursor, table, spool, *, key: str, staging: str) -> int:
    """Stream one verified file into the staging table; the rows read."""
    qn = connection.ops.quote_name
    fields = table.fields()
    if not key.endswith(".csv"):
        sql = (
            f"COPY {staging} ({', '.join(qn(f.column) for f in fields)}) "
            "FROM STDIN WITH (FORMAT csv)"
        )
        with _jsonl_as_csv(table, spool, key=key) as rows:
            try:
                cursor.cursor.copy_expert(sql, rows, size=1024 * 1024)
            except connection.Database.Error as exc:
                raise RestoreError(f"{key}: {str(exc).strip()}") from None
            return cursor.cursor.rowcount
    _check_header(table, spool, key=key)
    spool.seek(0)
    options = ["FORMAT csv", "HEADER true", "ENCODING 'UTF8'"]
    # The archive writes NULL and '' alike as an empty field; in a column
    # that may not be NULL it can only have been ''.
    texts = [
        qn(f.column)
        for f in fields
        if not f.null
        and isinstance(f, models.CharField | models.TextField | models.FileField)
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


def _excel_restore_staged(cursor, table, *, staging: str) -> None:
    """Take off the apostrophes an Excel archive put before text cells."""
    qn = connection.ops.quote_name
    for f in table.fields():
        if is_text(f):
            column = qn(f.column)
            cursor.execute(
                f"UPDATE {staging} SET {column} = substr({column}, 2) "
                f"WHERE {column} LIKE %s",
                ["'%"],
            )


def _insert_staged(cursor, table, *, staging: str, key: str, add: bool) -> int:
    """
    Move the staged rows into the table; returns how many were added. Every
    row must be new, unless ``add``: then a row already present must equal
    the archived one, and is left as it is.
    """
    qn = connection.ops.quote_name
    model = table.model
    columns = [qn(f.column) for f in table.fields()]
    values = list(columns)
    target = qn(model._meta.db_table)
    pk = qn(model._meta.pk.column)
    conflict = ""
    if add:
        cursor.execute(
            f"SELECT s.{pk} FROM {staging} s JOIN {target} t ON t.{pk} = s.{pk} "
            f"WHERE ROW({', '.join('t.' + c for c in columns)}) IS DISTINCT FROM "
            f"ROW({', '.join('s.' + c for c in columns)}) ORDER BY 1 LIMIT 5"
        )
        differing = [row[0] for row in cursor.fetchall()]
        if differing:
            raise RestoreError(
                f"{key}: {model._meta.db_table} ids {differing} differ from the "
                "archived rows; --add only adds to a restore of this archive"
            )
        conflict = f" ON CONFLICT ({pk}) DO NOTHING"
    if model is apps_user():
        # Passwords are never archived; an unusable one (Django's "!"
        # prefix), so restored accounts sign in via Cognito or a reset.
        columns.append(qn(model._meta.get_field("password").column))
        values.append("'!' || md5(random()::text || clock_timestamp()::text)")
    try:
        cursor.execute(
            f"INSERT INTO {target} ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM {staging}{conflict}"
        )
    except connection.Database.IntegrityError as exc:
        raise RestoreError(f"{key}: {str(exc).strip()}") from None
    added = cursor.rowcount
    cursor.execute(f"DROP TABLE {staging}")
    return added


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


def _files_in_window(entry: dict, since: dt.date, until: dt.date) -> list[dict]:
    # A partition holds the rows of one UTC day, the same days the window
    # counts in, so a file is wholly in or out.
    return [
        f
        for _rel, f in sorted(entry.get("files", {}).items())
        if not f.get("dt") or since <= dt.date.fromisoformat(f["dt"]) <= until
    ]


def _table_load(
    *, table: ArchiveTable, spools: list[tuple[str, object, bool]], add: bool
) -> TableRestore:
    """
    Load one table's verified files, each (key, spool, written for Excel);
    raises RestoreError on any problem.
    """
    tresult = TableRestore(name=table.name, files=len(spools))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            staging = _staging_create(cursor, table)
            # Excel files first, so that taking their apostrophes off
            # touches only their rows.
            excel_files = [s for s in spools if s[2]]
            for key, spool, _excel in [*excel_files, *(s for s in spools if not s[2])]:
                tresult.rows_read += _copy_file(
                    cursor, table, spool, key=key, staging=staging
                )
                if excel_files and key == excel_files[-1][0]:
                    _excel_restore_staged(cursor, table, staging=staging)
            tresult.rows_added = _insert_staged(
                cursor, table, staging=staging, key=table.name, add=add
            )
    else:
        with _keep_timestamps(table.model):
            for key, spool, excel in spools:
                read, added = _load_file(table, spool, key=key, add=add, excel=excel)
                tresult.rows_read += read
                tresult.rows_added += added
    tresult.rows_present = tresult.rows_read - tresult.rows_added
    return tresult


def _sequences_reset(*, restored: dict[type[models.Model], int]) -> None:
    """
    Move each id sequence past the ids the rows came with, and past the
    highest id the archive holds, so that a row made after a partial restore
    never takes an id that a later, wider restore needs.
    """
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, archived_max in restored.items():
            table, pk = model._meta.db_table, model._meta.pk.column
            if not isinstance(model._meta.pk, models.AutoField):
                continue
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), "
                    f"GREATEST((SELECT COALESCE(MAX({qn(pk)}), 0) FROM {qn(table)}),"
                    " %s, 1))",
                    [table, pk, archived_max],
                )
            elif connection.vendor == "sqlite":
                cursor.execute(
                    "UPDATE sqlite_sequence SET seq = MAX(seq, %s) WHERE name = %s",
                    [archived_max, table],
                )
            else:
                for statement in connection.ops.sequence_reset_sql(no_style(), [model]):
                    cursor.execute(statement)


def _tables_not_empty(tables: list[ArchiveTable]) -> list[str]:
    """The tables that already hold rows, with how many."""
    return [
        f"{t.model._meta.db_table} ({t.model._default_manager.count()} rows)"
        for t in tables
        if t.model._default_manager.exists()
    ]


def restore_run(
    *,
    bucket: str | None = None,
    prefix: str | None = None,
    tables: list[str] | None = None,
    days_before: int = 1,
    days_after: int = 1,
    since: dt.date | None = None,
    until: dt.date | None = None,
    add: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RestoreResult:
    """
    Load the archive into this database: reference tables in full, time-based
    tables for the days from ``since`` to ``until``.

    The database must hold none of the chosen tables' rows; with ``add`` it
    may hold an earlier restore of the same archive (a narrower window), whose
    rows must equal the archived ones and are left as they are. Every file's
    MD5 is checked before anything is written, and everything is written in
    one transaction: a RestoreError leaves the database as it was. Rows keep
    their ids; an archived row is never skipped silently.
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
    try:
        info = info_load(bucket=bucket, prefix=prefix, client=client)
    except ArchiveInfoError as exc:
        raise RestoreError(str(exc)) from None
    if info is None:
        raise RestoreError(
            f"there is no archive_info.json under s3://{bucket}/{prefix}"
        )
    result = RestoreResult(since=since, until=until)
    chosen = _tables_chosen(info=info, names=names, result=result)
    if not add:
        busy = _tables_not_empty([t for t, _ in chosen])
        if busy:
            raise RestoreError(
                "the database already holds data in " + ", ".join(busy) + "; "
                "restore into an empty database (or, to widen an earlier restore "
                "of this same archive, pass --add); nothing was restored"
            )
    # Every file is fetched and checked before a single row is written.
    spools: dict[str, list[tuple[str, object, bool]]] = {}
    try:
        for table, entry in chosen:
            spools[table.name] = _table_files_fetch(
                client, bucket=bucket, entry=entry, since=since, until=until
            )
        restored = _tables_write(
            chosen=chosen, spools=spools, add=add, result=result, progress=progress
        )
    except RestoreError:
        raise
    except Exception as exc:
        raise RestoreError(
            f"{type(exc).__name__}: {exc}; nothing was restored"
        ) from None
    finally:
        for table_spools in spools.values():
            for _key, spool, _excel in table_spools:
                spool.close()
    if any(
        m._meta.label in {"shop.Product", "shop.ProductVariant", "shop.ProductImage"}
        for m in restored
    ):
        product_index_refresh()
    tables_analyze(models=list(restored))
    return result


def _tables_chosen(
    *, info: dict, names: list[str], result: RestoreResult
) -> list[tuple[ArchiveTable, dict]]:
    """The archive's entries for `names`; missing ones are noted in `result`."""
    chosen = []
    for table in TABLES:
        if table.name not in names:
            continue
        entry = info["tables"].get(table.name)
        if entry is None:
            result.tables.append(
                TableRestore(table.name, status="missing", error="not in the archive")
            )
            continue
        if entry.get("schema", {}).get("hash") != table_schema(table)["hash"]:
            raise RestoreError(
                f"{table.name}: the archived schema "
                f"({entry.get('schema', {}).get('hash')}) differs from the model's "
                f"({table_schema(table)['hash']}); nothing was restored"
            )
        chosen.append((table, entry))
    return chosen


def _table_files_fetch(
    client, *, bucket: str, entry: dict, since: dt.date, until: dt.date
) -> list[tuple[str, object, bool]]:
    """Download a table's files in the window, each checked against its MD5."""
    spools = []
    for f in _files_in_window(entry, since, until):
        spool = _download(client, bucket=bucket, key=f["key"], expected_md5=f["md5"])
        # Archives older than the per-file flag kept it per table.
        excel = bool(f.get("excel", entry.get("excel")))
        spools.append((f["key"], spool, excel))
    return spools


def _tables_write(
    *,
    chosen: list[tuple[ArchiveTable, dict]],
    spools: dict[str, list[tuple[str, object, bool]]],
    add: bool,
    result: RestoreResult,
    progress: Callable[[str], None] | None,
) -> dict[type[models.Model], int]:
    """Load every chosen table in one transaction; the models restored, by top id."""
    restored: dict[type[models.Model], int] = {}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Archived datetimes are naive UTC.
                cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        for table, entry in chosen:
            tresult = _table_load(table=table, spools=spools[table.name], add=add)
            tresult.files_outside_window = len(entry.get("files", {})) - len(
                spools[table.name]
            )
            result.tables.append(tresult)
            if progress:
                present = (
                    f", {tresult.rows_present} already present"
                    if tresult.rows_present
                    else ""
                )
                progress(
                    f"{table.name}: {tresult.rows_read} rows read, "
                    f"{tresult.rows_added} added{present}"
                )
            if tresult.rows_added:
                restored[table.model] = int(entry.get("max_pk") or 0)
        _sequences_reset(restored=restored)
    return restored
