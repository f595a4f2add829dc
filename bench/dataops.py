"""
Benchmarks of the data operations, on PostgreSQL and moto's S3 over HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop_dataops_bench \
        .venv/bin/python bench/dataops.py [--rows 100000] [--events 1000000]

Each phase runs in its own process so that its peak RSS is its own. The
database in DATABASE_URL is emptied; a second one named <db>_restore is
created and dropped for the restore. Prints a Markdown table.

The archive at scale, against the code of another tree (a git worktree of
an earlier commit) in the same run:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop_dataops_scale \
        .venv/bin/python bench/dataops.py --scale --events 10000000 \
        --before /tmp/archive-before

fills the events table in SQL (generate_series, a million rows a
statement), then times the first archive of the events with the other
tree's code, the first with this tree's, and this tree's unchanged rerun.
"""

import argparse
import csv
import datetime as dt
import io
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BUCKET = "bench-archive"


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench")
    os.environ["ANALYTICS_ENABLED"] = "false"
    import django

    django.setup()


def _peak_mb() -> float:
    # VmHWM is this program's own peak: ru_maxrss keeps, across exec, the
    # peak of the process it was forked from (here the bench, holding moto).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_load(path: str) -> dict:
    _django()
    from shop.catalogue_import import catalog_load

    start = time.perf_counter()
    result = catalog_load(path=Path(path))
    seconds = time.perf_counter() - start
    assert not result.error_count, result.errors[:3]
    return {"rows": result.rows, "seconds": seconds, "peak_mb": _peak_mb()}


def phase_events(count: int) -> dict:
    _django()
    from django.db import connection

    from analytics.models import Event

    Event.objects.all().delete()
    now = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    with connection.cursor() as cursor:
        done = 0
        while done < count:
            buf = io.StringIO()
            writer = csv.writer(buf)
            for i in range(done, min(count, done + 100_000)):
                at = now - dt.timedelta(seconds=i * 60)  # ~700 days of history
                writer.writerow([uuid.uuid4(), "page_view", at.isoformat(), "", "v1", "s1", f"/p/{i % 500}",
                                 "", "", "", "", "", "", "", "", "", "desktop", "Chrome", "Linux", "", "\\N", "\\N", "f", "{}", "direct"])  # fmt: skip
            buf.seek(0)
            cursor.cursor.copy_expert(
                "COPY analytics_event (event_id, name, occurred_at, route, visitor_id, session_id, path, "
                "referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content, currency, language, "
                "viewport, device, browser, os, country, client_time, value, is_bot, properties, channel) "
                "FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                buf,
            )
            done = min(count, done + 100_000)
    return {"rows": count, "seconds": time.perf_counter() - start}


def phase_generate(count: int) -> dict:
    """``count`` page views over ~91 days, made by PostgreSQL itself."""
    _django()
    from django.db import connection

    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analytics_event")
        for first in range(0, count, 1_000_000):
            cursor.execute(
                "INSERT INTO analytics_event (event_id, name, occurred_at, route, "
                "visitor_id, session_id, path, referrer, utm_source, utm_medium, "
                "utm_campaign, utm_term, utm_content, currency, language, viewport, "
                "device, browser, os, country, is_bot, properties, channel, "
                "status_code, duration_ms) "
                "SELECT gen_random_uuid(), 'page_view', "
                "now() - i * (interval '91 days' / %s), 'product', 'v' || (i %% 50000), "
                "'s' || (i / 7), '/p/' || (i %% 500), '', '', '', '', '', '', 'GBP', "
                "'en-GB', '', 'desktop', 'Chrome', 'Linux', 'GB', false, "
                "'{\"q\": \"x\"}', 'direct', 200, NULLIF(i %% 300, 0) "
                "FROM generate_series(%s, %s) i",
                [count, first, min(count, first + 1_000_000) - 1],
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE analytics_event")
    return {"rows": count, "seconds": time.perf_counter() - start}


def phase_archive(puts_file: str, prefix: str = "bench", tables: str = "") -> dict:
    _django()
    from adminpanel.archive import archive_run
    from config.aws import _session

    calls = []
    _session().events.register(
        "before-send.s3",
        lambda event_name="", **kw: calls.append(event_name.rsplit(".", 1)[-1]),
    )
    start = time.perf_counter()
    result = archive_run(
        bucket=BUCKET, prefix=prefix, tables=tables.split(",") if tables else None
    )
    seconds = time.perf_counter() - start
    assert result.ok, [t.error for t in result.tables]
    writes = sum(
        1
        for c in calls
        if c
        in {
            "PutObject",
            "UploadPart",
            "CreateMultipartUpload",
            "CompleteMultipartUpload",
        }
    )
    return {
        "rows": result.rows,
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "puts": writes,
    }


def phase_restore() -> dict:
    _django()
    from adminpanel.restore import restore_run

    start = time.perf_counter()
    result = restore_run(
        bucket=BUCKET,
        prefix="bench",
        since=dt.date(2000, 1, 1),
        until=dt.date(2100, 1, 1),
    )
    seconds = time.perf_counter() - start
    assert result.ok, [t.error for t in result.tables]
    rows = sum(t.rows_read for t in result.tables)
    return {"rows": rows, "seconds": seconds, "peak_mb": _peak_mb()}


def _child(name: str, *args, env=None) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", name, *map(str, args)],
        check=True, capture_output=True, text=True, env=env or os.environ.copy(), cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_catalog(path: Path, rows: int) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "product",
                "sku",
                "name",
                "description",
                "category",
                "price",
                "stock",
                "options",
                "images",
            ]
        )
        for i in range(rows):
            p = i // 5
            w.writerow([f"bench-product-{p}", f"BENCH-{i:07d}", f"Bench product {p}" if i % 5 == 0 else "",
                        "<p>A <b>fine</b> thing.</p>" if i % 5 == 0 else "", f"Dept {p % 20} > Aisle {p % 7}",
                        f"{(i % 90) + 9}.99", i % 30, f"size={['XS', 'S', 'M', 'L', 'XL'][i % 5]}",
                        f"https://img.example.com/{p}.jpg" if i % 5 == 0 else ""])  # fmt: skip


def _row(what: str, r: dict) -> str:
    return (
        f"| {what} | {r['rows']:,} | {r['seconds']:.1f} s | "
        f"{r['rows'] / r['seconds']:,.0f} | {r.get('peak_mb', 0):.0f} MB |"
    )


def scale(opts, env: dict, base: str) -> None:
    """The events archive at scale: the other tree's first run, then ours."""
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    generated = _child("generate", opts.events, env=env)
    before_root = Path(opts.before)

    def archive(root: Path, *args: str) -> dict:
        # Every table, as the job does; only the events hold rows.
        out = subprocess.run(
            [sys.executable, str(root / "bench" / "dataops.py"), "--phase", "archive",
             "x", *args],
            check=True, capture_output=True, text=True, env=env, cwd=root,
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    before = archive(before_root)  # its own prefix, "bench"
    first = archive(ROOT, "after")
    rerun = archive(ROOT, "after")
    print(f"generated {generated['rows']:,} events in {generated['seconds']:.1f} s")
    print("| what | rows | time | rows/s | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(_row(f"events, first archive, {before_root} ({before['puts']} PUTs)", before))
    print(_row(f"events, first archive, this tree ({first['puts']} PUTs)", first))
    print(_row(f"events, unchanged rerun, this tree ({rerun['puts']} PUTs)", rerun))
    print(f"first archive: {before['seconds'] / first['seconds']:.2f}x faster")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--before", help="the tree whose archive --scale compares")
    parser.add_argument("--phase")
    parser.add_argument("args", nargs="*")
    opts = parser.parse_args()
    if opts.phase:
        fn = {
            "load": phase_load,
            "events": phase_events,
            "generate": phase_generate,
            "archive": phase_archive,
            "restore": phase_restore,
        }[opts.phase]
        args = [int(a) if a.isdigit() else a for a in opts.args]
        print(json.dumps(fn(*args)))
        return

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database you can empty")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=5139, verbose=False)
    server.start()
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:5139", "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench", "DJANGO_SECRET_KEY": "bench", "ANALYTICS_ENABLED": "false"}  # fmt: skip
    manage = [sys.executable, str(ROOT / "manage.py")]
    import boto3

    base, db = url.rsplit("/", 1)
    restore_db = f"{db}_restore"
    try:
        subprocess.run(
            ["psql", f"{base}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db}"],
            check=True,
        )
        subprocess.run(
            ["psql", f"{base}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True
        )
        if opts.scale:
            boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                         aws_access_key_id="bench", aws_secret_access_key="bench").create_bucket(Bucket=BUCKET)  # fmt: skip
            scale(opts, env, base)
            return
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
        catalog = Path("/tmp/bench_catalog.csv")
        write_catalog(catalog, opts.rows)
        load = _child("load", catalog, env=env)
        rerun = _child("load", catalog, env=env)
        _child("events", opts.events, env=env)

        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                     aws_access_key_id="bench", aws_secret_access_key="bench").create_bucket(Bucket=BUCKET)  # fmt: skip
        first = _child("archive", "x", env=env)
        second = _child("archive", "x", env=env)
        subprocess.run(
            [
                "psql",
                f"{base}/postgres",
                "-qc",
                f"DROP DATABASE IF EXISTS {restore_db}",
            ],
            check=True,
        )
        subprocess.run(
            ["psql", f"{base}/postgres", "-qc", f"CREATE DATABASE {restore_db}"],
            check=True,
        )
        renv = {**env, "DATABASE_URL": f"{base}/{restore_db}"}
        subprocess.run([*manage, "migrate", "-v0"], env=renv, check=True, cwd=ROOT)
        restore = _child("restore", env=renv)
    finally:
        subprocess.run(
            [
                "psql",
                f"{base}/postgres",
                "-qc",
                f"DROP DATABASE IF EXISTS {restore_db}",
            ],
            check=False,
        )
        server.stop()
    print("| what | rows | time | rows/s | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        f"| load_catalog, first load | {load['rows']:,} | {load['seconds']:.1f} s | {load['rows'] / load['seconds']:,.0f} | {load['peak_mb']:.0f} MB |"
    )
    print(
        f"| load_catalog, unchanged rerun | {rerun['rows']:,} | {rerun['seconds']:.1f} s | {rerun['rows'] / rerun['seconds']:,.0f} | {rerun['peak_mb']:.0f} MB |"
    )
    print(
        f"| archive_to_s3, first run | {first['rows']:,} | {first['seconds']:.1f} s | {first['rows'] / first['seconds']:,.0f} | {first['peak_mb']:.0f} MB |"
    )
    print(
        f"| archive_to_s3, unchanged rerun ({second['puts']} PUTs; {second['seconds'] / first['seconds']:.2f} of the first run's time) | {second['rows']:,} | {second['seconds']:.1f} s | {second['rows'] / second['seconds']:,.0f} | {second['peak_mb']:.0f} MB |"
    )
    print(
        f"| restore_from_s3, everything | {restore['rows']:,} | {restore['seconds']:.1f} s | {restore['rows'] / restore['seconds']:,.0f} | {restore['peak_mb']:.0f} MB |"
    )


if __name__ == "__main__":
    main()
