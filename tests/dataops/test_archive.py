import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from adminpanel.archive import TABLES, archive_run, archive_state, info_load
from adminpanel.restore import RestoreError, restore_run
from analytics.models import Event
from shop.models import Order, OrderLine
from tests.dataops.conftest import at, today

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_archive_writes_daily_partitions_with_checksums_and_info(s3, shop_data):
    client, counter = s3
    result = archive_run()
    assert result.ok
    info = info_load(bucket="test-archive", prefix="archive")
    events = info["tables"]["events"]
    day = at(-1).date().isoformat()
    entry = events["files"][f"events/dt={day}/part.jsonl"]
    assert entry["key"] == f"archive/events/dt={day}/part.jsonl" and entry["rows"] == 1
    body = client.get_object(Bucket="test-archive", Key=entry["key"])["Body"].read()
    import hashlib

    assert hashlib.md5(body).hexdigest() == entry["md5"] and len(body) == entry["bytes"]
    assert list(json.loads(body)) == [f.attname for f in Event._meta.concrete_fields]
    assert events["schema"]["columns"][3] == {
        "name": "occurred_at",
        "type": "timestamp",
    }
    assert len(events["files"]) == 5 and events["status"] == "ok"
    assert set(info["tables"]) == {t.name for t in TABLES}
    # JSON Lines: one object a line, whatever the text holds.
    customers = client.get_object(
        Bucket="test-archive", Key="archive/customers/part.jsonl"
    )["Body"].read()
    [customer] = [json.loads(line) for line in customers.splitlines()]
    assert customer["name"] == 'Ada "Quotes", Lovelace' and "password" not in customer
    variants = client.get_object(
        Bucket="test-archive", Key="archive/variants/part.jsonl"
    )["Body"].read()
    assert variants.count(b"\n") == 1 and variants.endswith(b"\n")
    assert json.loads(json.loads(variants)["options"])["note"] == "a,b\nc"
    # 5 daily files x 5 tables, 6 reference tables, info
    assert counter.writes == 5 * 5 + 6 + 1


def test_unchanged_rerun_makes_zero_puts_and_a_change_rewrites_one_day(s3, shop_data):
    client, counter = s3
    archive_run()
    counter.reset()
    out = StringIO()
    call_command("archive_to_s3", stdout=out)
    assert counter.writes == 0
    assert "nothing was uploaded" in out.getvalue()
    Event.objects.create(name="click", occurred_at=at(1, hour=15))
    counter.reset()
    result = archive_run(tables=["events"])
    events = next(t for t in result.tables if t.name == "events")
    assert (events.files_uploaded, events.files_unchanged) == (1, 4)
    assert [c for c in counter.calls if c == "PutObject"] == [
        "PutObject",
        "PutObject",
    ]  # the day + info
    counter.reset()
    archive_run(force=True, tables=["categories"])
    assert counter.writes == 2


def test_dry_run_uploads_nothing(s3, shop_data):
    client, counter = s3
    out = StringIO()
    call_command("archive_to_s3", "--dry-run", stdout=out)
    assert counter.writes == 0 and "would be uploaded" in out.getvalue()


def test_large_files_go_multipart_and_are_verified(s3, shop_data, settings):
    client, counter = s3
    settings.ARCHIVE_MULTIPART_THRESHOLD = 5 * 1024 * 1024
    settings.ARCHIVE_MULTIPART_CHUNK = 5 * 1024 * 1024
    Event.objects.bulk_create(
        Event(name="page_view", occurred_at=at(0), path="/" + "x" * 400)
        for _ in range(16000)
    )
    result = archive_run(tables=["events"])
    assert result.ok
    info = info_load(bucket="test-archive", prefix="archive")
    size = info["tables"]["events"]["files"][f"events/dt={today()}/part.jsonl"]["bytes"]
    assert counter.calls.count("CreateMultipartUpload") == 1
    assert counter.calls.count("UploadPart") == -(-size // (5 * 1024 * 1024)) > 1


def test_one_failing_table_is_recorded_and_the_others_archived(s3, shop_data):
    client, counter = s3
    from config.aws import _session

    # S3 refusing writes cannot be staged on the stand-in, so this botocore
    # hook fails the PUTs of one table before they are sent.
    def refuse(params, **kwargs):
        if params.get("Key", "").startswith("archive/sessions/"):
            raise RuntimeError("access denied")

    _session().events.register("provide-client-params.s3.PutObject", refuse)
    try:
        with pytest.raises(CommandError, match="archive failed for sessions"):
            call_command("archive_to_s3", stdout=StringIO())
    finally:
        _session().events.unregister("provide-client-params.s3.PutObject", refuse)
    info = info_load(bucket="test-archive", prefix="archive")
    assert info["tables"]["sessions"]["status"] == "error"
    assert "access denied" in info["tables"]["sessions"]["error"]
    assert info["tables"]["events"]["status"] == "ok" and info["status"] == "error"
    state = archive_state()
    assert (
        state["error"] is None
        and {t["name"]: t["status"] for t in state["tables"]}["sessions"] == "error"
    )


def test_archive_state_reports_an_unreachable_s3_without_raising(settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    state = archive_state()
    assert (
        state["error"].startswith("the archive cannot be read")
        and state["tables"] == []
    )


def wipe():
    """Empty every archived table, as a new database is."""
    for table in reversed(TABLES):
        table.model._default_manager.all().delete()


def test_restore_window_edges_and_idempotence(s3, shop_data):
    archive_run()
    wipe()
    result = restore_run()
    assert result.ok
    assert sorted(o.created_at.date() for o in Order.objects.all()) == [
        at(d).date() for d in (-1, 0, 1)
    ]
    assert Event.objects.count() == 3 and OrderLine.objects.count() == 3
    added = {t.name: t.rows_added for t in result.tables}
    assert added["orders"] == 3 and added["customers"] == 1
    again = restore_run(add=True)
    assert sum(t.rows_added for t in again.tables) == 0
    assert {t.name: t.rows_present for t in again.tables}["orders"] == 3
    narrow = restore_run(since=at(2).date(), until=at(2).date(), add=True)
    assert {t.name: t.rows_added for t in narrow.tables}["events"] == 1
    # Ids continue past the restored rows.
    assert Order.objects.create(**_order_fields()).pk > max(
        Order.objects.exclude(number="NEW").values_list("pk", flat=True)
    )


def _order_fields():
    return {
        "number": "NEW", "email": "x@example.com", "full_name": "X", "address_line1": "1", "city": "C",
        "postcode": "P", "shipping_method": "standard", "payment_method": "cod", "currency": "GBP",
        "subtotal": 1, "shipping_cost": 0, "total": 1,
    }  # fmt: skip


def test_a_corrupted_archive_file_restores_nothing(s3, shop_data):
    client, _ = s3
    archive_run()
    info = info_load(bucket="test-archive", prefix="archive")
    key = info["tables"]["events"]["files"][f"events/dt={today()}/part.jsonl"]["key"]
    body = client.get_object(Bucket="test-archive", Key=key)["Body"].read()
    client.put_object(
        Bucket="test-archive", Key=key, Body=body.replace(b"12.50", b"99.50")
    )
    wipe()
    with pytest.raises(
        CommandError,
        match=r"s3://test-archive/archive/events/dt=.*MD5 .* does not match.*"
        "nothing was restored",
    ):
        call_command("restore_from_s3", stdout=StringIO())
    # Checked before anything was written: no table holds a row.
    assert not any(t.model._default_manager.exists() for t in TABLES)


def _dump(stdout: str) -> dict:
    rows = {}
    for obj in json.loads(stdout):
        obj["fields"].pop("password", None)
        rows[(obj["model"], obj["pk"])] = obj["fields"]
    return rows


def test_round_trip_into_a_new_database(s3, shop_data, moto_s3_url, tmp_path):
    archive_run()
    labels = [t.model_label for t in TABLES]
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "x",
        "AWS_ENDPOINT_URL": moto_s3_url,
        "AWS_ARCHIVE_BUCKET": "test-archive",
        "AWS_ARCHIVE_PREFIX": "archive",
        "ANALYTICS_ENABLED": "false",
    }
    if connection.vendor == "postgresql":
        name = f"shop_dataops_restore_{uuid.uuid4().hex[:8]}"
        base = settings.DATABASES["default"]
        url = f"postgres://{base['USER']}@{base['HOST']}:{base['PORT'] or 5432}"
        subprocess.run(
            ["psql", f"{url}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True
        )
        env["DATABASE_URL"] = f"{url}/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    manage = [sys.executable, str(ROOT / "manage.py")]
    try:
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
        run = subprocess.run(
            [*manage, "restore_from_s3", "--since", "2000-01-01", "--until", "2100-01-01"],
            env=env, check=True, cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        assert "events: 5 rows read, 5 added" in run.stdout
        restored = subprocess.run(
            [*manage, "dumpdata", *labels],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        if connection.vendor == "postgresql":
            subprocess.run(
                ["psql", f"{url}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
                check=True,
            )
    original = StringIO()
    call_command("dumpdata", *labels, stdout=original)
    original, restored = _dump(original.getvalue()), _dump(restored)
    # 5 days x 5 tables; a user, category, product, image, variant, address
    assert len(original) == 5 * 5 + 6
    assert restored == original


def test_an_excel_archive_with_a_bom_restores_the_same_rows(s3, shop_data):
    archive_run(excel=True)
    wipe()
    result = restore_run()
    assert result.ok
    assert Event.objects.count() == 3 and OrderLine.objects.count() == 3
    assert Order.objects.get(created_at=at(0)).full_name == "Zoë Ünïcode"


def test_excel_archives_neutralise_formula_cells_and_restore_them(s3, shop_data):
    client, _ = s3
    Order.objects.filter(created_at=at(0)).update(
        full_name='=HYPERLINK("http://evil.example")', city="'quoted", phone="-3"
    )
    archive_run(excel=True)
    key = f"archive/orders/dt={at(0).date()}/part.csv"
    body = client.get_object(Bucket="test-archive", Key=key)["Body"].read().decode()
    assert "'=HYPERLINK(" in body and "''quoted" in body and ",'-3," in body
    assert ",=" not in body
    wipe()
    restore_run(since=at(0).date(), until=at(0).date())
    order = Order.objects.get()
    assert order.full_name == '=HYPERLINK("http://evil.example")'
    assert (order.city, order.phone) == ("'quoted", "-3")


def test_a_bad_value_in_a_checksummed_file_stops_its_table_naming_the_line(
    s3, shop_data
):
    client, _ = s3
    archive_run()
    info = info_load(bucket="test-archive", prefix="archive")
    entry = info["tables"]["events"]["files"][f"events/dt={today()}/part.jsonl"]
    body = client.get_object(Bucket="test-archive", Key=entry["key"])["Body"].read()
    assert body.count(b'"is_bot":false') == 1
    bad = body.replace(b'"is_bot":false', b'"is_bot":"maybe"')
    client.put_object(Bucket="test-archive", Key=entry["key"], Body=bad)
    # Record the new checksum, so that only the value itself is wrong.
    entry["md5"] = hashlib.md5(bad, usedforsecurity=False).hexdigest()
    client.put_object(
        Bucket="test-archive", Key="archive/archive_info.json", Body=json.dumps(info)
    )
    wipe()
    with pytest.raises(RestoreError) as caught:
        restore_run()
    assert re.search(
        r"events/dt=.*/part\.jsonl.*line 1.*is_bot", str(caught.value), re.S
    )
    assert not any(t.model._default_manager.exists() for t in TABLES)


def test_restore_into_a_non_empty_database_is_refused_naming_the_tables(s3, shop_data):
    archive_run()
    Event.objects.all().delete()
    counts = {t.name: t.model._default_manager.count() for t in TABLES}
    with pytest.raises(
        CommandError,
        match=r"already holds data in .*shop_order \(5 rows\).*nothing was restored",
    ):
        call_command("restore_from_s3", stdout=StringIO())
    assert {t.name: t.model._default_manager.count() for t in TABLES} == counts


def test_add_widens_a_restore_and_refuses_rows_that_differ(s3, shop_data):
    archive_run()
    wipe()
    restore_run(since=at(0).date(), until=at(0).date())
    # A row written after the narrow restore never takes an archived id.
    new = Event.objects.create(name="page_view", occurred_at=at(0), path="/new")
    assert new.pk > max(info_load(bucket="test-archive", prefix="archive")[
        "tables"]["events"]["max_pk"], 0)  # fmt: skip
    wider = restore_run(since=at(-2).date(), until=at(2).date(), add=True)
    assert {t.name: t.rows_added for t in wider.tables}["events"] == 4
    assert Event.objects.count() == 6  # every archived row, and the new one
    # A restored row that was changed since: --add refuses, writes nothing.
    Order.objects.filter(created_at=at(0)).update(email="changed@example.com")
    Event.objects.filter(path="/p/2").delete()
    with pytest.raises(RestoreError, match=r"shop_order ids? .*differ"):
        restore_run(since=at(-2).date(), until=at(2).date(), add=True)
    assert not Event.objects.filter(path="/p/2").exists()


def test_prune_then_archive_keeps_every_archived_object(s3, shop_data):
    client, _ = s3
    archive_run()

    def keys():
        listing = client.list_objects_v2(Bucket="test-archive", Prefix="archive/")
        return {o["Key"]: o["ETag"] for o in listing["Contents"]}

    before = keys()
    call_command("analytics_prune", "--older-than", "1d", "--force", verbosity=0)
    assert not Event.objects.filter(occurred_at__lt=at(-1, 0)).exists()
    archive_run()
    after = keys()
    assert {k: v for k, v in after.items() if k in before} == {
        k: v for k, v in before.items() if not k.endswith("archive_info.json")
    } | {"archive/archive_info.json": after["archive/archive_info.json"]}
    info = info_load(bucket="test-archive", prefix="archive")
    pruned = info["tables"]["events"]["files"][f"events/dt={at(-2).date()}/part.jsonl"]
    assert pruned["rows"] == 1  # still recorded, so restore reads it
    wipe()
    restore_run(since=at(-2).date(), until=at(-2).date())
    assert Event.objects.filter(path="/p/-2").exists()


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"tables": {"events": 1}}'])
def test_a_corrupt_archive_info_gives_a_clear_error(s3, shop_data, body):
    client, _ = s3
    client.put_object(Bucket="test-archive", Key="archive/archive_info.json", Body=body)
    with pytest.raises(CommandError, match="archive_info.json .*corrupt"):
        call_command("archive_to_s3", stdout=StringIO())
    wipe()
    with pytest.raises(CommandError, match="archive_info.json .*corrupt"):
        call_command("restore_from_s3", stdout=StringIO())


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the fingerprints are PostgreSQL's"
)
def test_unchanged_days_are_not_read_and_an_update_is_seen(s3, shop_data):
    client, counter = s3
    archive_run()
    # An update keeps a day's count and ids: the rows' hash sees it.
    Order.objects.filter(created_at=at(0)).update(email="changed@example.com")
    orders = archive_run(tables=["orders"]).tables[0]
    assert (orders.files_uploaded, orders.files_unchanged) == (1, 4)
    # A day whose fingerprint is recorded is not exported again: a recorded
    # MD5 that no export of it could match is left as it is.
    info = info_load(bucket="test-archive", prefix="archive")
    info["tables"]["events"]["files"][f"events/dt={at(-1).date()}/part.jsonl"][
        "md5"
    ] = "0" * 32
    client.put_object(
        Bucket="test-archive", Key="archive/archive_info.json", Body=json.dumps(info)
    )
    counter.reset()
    events = archive_run(tables=["events"]).tables[0]
    assert (events.files_uploaded, events.files_unchanged, events.rows) == (0, 5, 5)
    assert counter.writes == 0
