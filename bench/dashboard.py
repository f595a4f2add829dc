"""
Dashboard speed over millions of events.

Generates EVENTS clickstream events (with their session summaries) and
ORDERS orders over 90 days into a dedicated PostgreSQL database with COPY,
builds hourly rollups in SQL (the same cells as analytics/rollups.py, with
the same table and columns) and the daily rollups of adminpanel/rollups.py
(a full first build, as the `analytics_rollup` job would), then times every dashboard page for a 30-day
range through the full Django stack, cold (panel cache cleared before each
request) and warm, and the naive aggregate over the raw events table.

    .venv/bin/python bench/dashboard.py [--events 10000000] [--orders 100000]
        [--database shop_bench_dash] [--runs 20] [--reuse]
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import manage, recreate_database  # noqa: E402

CHANNELS = ["direct", "organic", "paid", "email", "social", "referral"]
DEVICES = ["desktop", "mobile", "tablet"]
BROWSERS = ["Chrome", "Safari", "Firefox", "Edge"]
COUNTRIES = ["GB", "FR", "DE", "US", "IE", "NL"]
PAGES = ["/", "/c/shoes/", "/c/hats/", "/search/", "/cart/", "/p/runner/"]
QUERIES = ["shoes", "red hat", "boots", "socks", "rain jacket", "xyzzy"]
PRODUCTS = 2000
DAYS = 90


def env_for(database: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY="bench-only-secret-key-" + "d" * 40,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        LOG_LEVEL="WARNING",
        ANALYTICS_ENABLED="false",
        DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1",
    )
    # Panels are cached in local memory here: the cold timings clear it.
    env.pop("REDIS_URL", None)
    return env


EMPTY = {"jsonb": "{}", "boolean": "f", "integer": "0", "bigint": "0", "smallint": "0"}


def copy(cursor, table: str, columns: list[str], rows) -> int:
    """
    Stream rows into `table` with COPY, 200k rows per round trip.

    Django keeps defaults in Python, not in the schema, so NOT NULL columns
    this bench does not generate get their empty value.
    """
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL "
        "AND is_identity = 'NO' AND column_name <> 'id'",
        [table],
    )
    extra = [(c, EMPTY.get(t, "")) for c, t in cursor.fetchall() if c not in columns]
    columns = [*columns, *(c for c, _ in extra)]
    tail = tuple(v for _, v in extra)
    count, buffer = 0, io.StringIO()
    for row in rows:
        buffer.write("\t".join(row + tail))
        buffer.write("\n")
        count += 1
        if count % 200_000 == 0:
            buffer.seek(0)
            cursor.copy_expert(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer
            )
            buffer = io.StringIO()
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    return count


def generate(*, events: int, orders: int, now: datetime) -> dict:
    from django.db import connection

    rng = random.Random(42)
    start = now - timedelta(days=DAYS)
    span = DAYS * 86400
    timings = {}
    with connection.cursor() as cursor:
        t = time.perf_counter()
        cursor.execute(
            "INSERT INTO shop_category (name, slug, description, position, path) "
            "SELECT 'Category ' || g, 'cat-' || g, '', g, 'cat-' || g FROM generate_series(1, 20) g"
        )
        cursor.execute(
            "INSERT INTO shop_product (category_id, name, slug, description, is_active, is_featured,"
            " units_sold, primary_image_url, price_from, in_stock, created_at, updated_at) "
            "SELECT (SELECT min(id) FROM shop_category) + g %% 20, 'Product ' || g, 'product-' || g,"
            " '', true, false, 0, '', 20, true, now(), now() FROM generate_series(1, %s) g",
            [PRODUCTS],
        )
        cursor.execute(
            "INSERT INTO shop_productvariant (product_id, sku, options, price, stock, position) "
            "SELECT id, 'SKU-' || id, '{}', 10 + id %% 90, id %% 40, 0 FROM shop_product",
            [],
        )
        cursor.execute("SELECT min(id) FROM shop_product")
        first_product = cursor.fetchone()[0]

        sessions_rows = []

        def event_stream():
            produced = 0
            session = 0
            while produced < events:
                session += 1
                sid = f"s{session}"
                vid = f"v{rng.randrange(max(events // 20, 1))}"
                t0 = start + timedelta(seconds=rng.randrange(span))
                channel = rng.choice(CHANNELS)
                device = rng.choice(DEVICES)
                browser = rng.choice(BROWSERS)
                country = rng.choice(COUNTRIES)
                bot = rng.random() < 0.05
                landing = rng.choice(PAGES)
                campaign = "spring-sale" if channel == "paid" else ""
                names = ["page_view"] * rng.randint(2, 6)
                product = first_product + rng.randrange(PRODUCTS)
                if rng.random() < 0.55:
                    names.append("product_view")
                    if rng.random() < 0.3:
                        names.append("add_to_cart")
                        if rng.random() < 0.5:
                            names.append("begin_checkout")
                            if rng.random() < 0.6:
                                names.append("purchase")
                if rng.random() < 0.15:
                    names.append("search")
                converted = "purchase" in names
                revenue = "54.95" if converted else "0"
                page_views = names.count("page_view")
                at = t0
                for name in names:
                    at += timedelta(seconds=rng.randint(5, 90))
                    props = "{}"
                    if name == "search":
                        q = rng.choice(QUERIES)
                        props = f'{{"query": "{q}", "results": {0 if q == "xyzzy" else 12}}}'
                    pid = (
                        str(product)
                        if name in ("product_view", "add_to_cart")
                        else "\\N"
                    )
                    value = "54.95" if name == "purchase" else "\\N"
                    yield (
                        str(uuid.UUID(int=rng.getrandbits(128))),
                        name,
                        at.isoformat(),
                        vid,
                        sid,
                        landing if name == "page_view" else "/p/runner/",
                        "",
                        "",
                        "",
                        campaign,
                        "",
                        "",
                        channel,
                        pid,
                        value,
                        "",
                        device,
                        browser,
                        "",
                        "",
                        "",
                        country,
                        "t" if bot else "f",
                        props,
                    )
                    produced += 1
                sessions_rows.append(
                    (
                        sid,
                        vid,
                        t0.isoformat(),
                        at.isoformat(),
                        landing,
                        "/",
                        str(page_views),
                        str(len(names)),
                        "https://www.google.com/" if channel == "organic" else "",
                        channel,
                        "",
                        campaign,
                        channel,
                        device,
                        browser,
                        "",
                        country,
                        "t" if bot else "f",
                        "t" if converted else "f",
                        revenue,
                    )
                )

        event_columns = [
            "event_id",
            "name",
            "occurred_at",
            "visitor_id",
            "session_id",
            "path",
            "route",
            "referrer",
            "utm_source",
            "utm_campaign",
            "utm_medium",
            "utm_term",
            "channel",
            "product_id",
            "value",
            "currency",
            "device",
            "browser",
            "os",
            "language",
            "viewport",
            "country",
            "is_bot",
            "properties",
        ]
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'analytics_event'"
        )
        present = {row[0] for row in cursor.fetchall()}
        keep = [i for i, c in enumerate(event_columns) if c in present]
        columns = [event_columns[i] for i in keep]
        # Fill NOT NULL columns the clickstream may add that this bench
        # does not know of with their empty value.
        n = copy(
            cursor,
            "analytics_event",
            columns,
            (tuple(row[i] for i in keep) for row in event_stream()),
        )
        timings["events"] = (n, time.perf_counter() - t)

        t = time.perf_counter()
        copy(
            cursor,
            "analytics_session",
            [
                "session_id",
                "visitor_id",
                "started_at",
                "ended_at",
                "landing_path",
                "exit_path",
                "page_views",
                "events",
                "referrer",
                "source",
                "medium",
                "campaign",
                "channel",
                "device",
                "browser",
                "os",
                "country",
                "is_bot",
                "converted",
                "revenue",
            ],
            iter(sessions_rows),
        )
        timings["sessions"] = (len(sessions_rows), time.perf_counter() - t)

        t = time.perf_counter()

        def order_stream():
            for i in range(orders):
                at = start + timedelta(seconds=rng.randrange(span))
                total = f"{rng.randint(10, 300)}.95"
                status = rng.choice(
                    ["paid", "paid", "shipped", "delivered", "pending", "cancelled"]
                )
                yield (
                    f"NW-B{i:08d}",
                    f"buyer{rng.randrange(orders // 3)}@example.com",
                    "Bench Buyer",
                    "1 High St",
                    "London",
                    "N1",
                    "GB",
                    "standard",
                    "cod",
                    "GBP",
                    total,
                    "0",
                    total,
                    status,
                    at.isoformat(),
                    at.isoformat(),
                    "",
                    "",
                    "",
                    "\\N",
                )

        copy(
            cursor,
            "shop_order",
            [
                "number",
                "email",
                "full_name",
                "address_line1",
                "city",
                "postcode",
                "country",
                "shipping_method",
                "payment_method",
                "currency",
                "subtotal",
                "shipping_cost",
                "total",
                "status",
                "created_at",
                "updated_at",
                "session_key",
                "phone",
                "address_line2",
                "checkout_token",
            ],
            order_stream(),
        )
        cursor.execute(
            "INSERT INTO shop_orderline (order_id, product_id, variant_id, product_name, sku,"
            " options, unit_price, quantity, line_total) "
            "SELECT o.id, p.id, v.id, p.name, v.sku, '{}', o.total, 1, o.total "
            "FROM shop_order o JOIN shop_product p ON p.id = %s + o.id %% %s "
            "JOIN shop_productvariant v ON v.product_id = p.id",
            [first_product, PRODUCTS],
        )
        timings["orders"] = (orders, time.perf_counter() - t)

        t = time.perf_counter()
        rollups_sql(cursor)
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM analytics_hourlyrollup")
        timings["rollups"] = (cursor.fetchone()[0], time.perf_counter() - t)
    return timings


def rollups_sql(cursor) -> None:
    """The hourly cells of analytics/rollups.py, built set-wise in one pass each."""
    hour = "date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    metrics = [
        ("page_views", "count(*) FILTER (WHERE name = 'page_view')"),
        ("visitors", "count(DISTINCT visitor_id)"),
        ("sessions", "count(DISTINCT session_id)"),
        ("product_views", "count(*) FILTER (WHERE name = 'product_view')"),
        ("add_to_carts", "count(*) FILTER (WHERE name = 'add_to_cart')"),
        ("checkouts", "count(*) FILTER (WHERE name = 'begin_checkout')"),
        ("purchases", "count(*) FILTER (WHERE name = 'purchase')"),
        ("revenue", "coalesce(sum(value) FILTER (WHERE name = 'purchase'), 0)"),
        ("searches", "count(*) FILTER (WHERE name = 'search')"),
    ]
    dimensions = {
        "all": "''",
        "page": "path",
        "product": "product_id::text",
        "channel": "channel",
        "device": "device",
        "campaign": "utm_campaign",
    }
    for dimension, key in dimensions.items():
        selects = ", ".join(f"{expr} AS {name}" for name, expr in metrics)
        unnest = ", ".join(f"('{name}', {name}::numeric)" for name, _ in metrics)
        where = "NOT is_bot" + (
            "" if dimension == "all" else f" AND coalesce({key}, '') <> ''"
        )
        cursor.execute(
            f"""
            INSERT INTO analytics_hourlyrollup (hour, metric, dimension, key, value)
            SELECT c.hour, m.metric, %s, c.key, m.value
            FROM (SELECT {hour} AS hour, {key} AS key, {selects}
                  FROM analytics_event WHERE {where} GROUP BY 1, 2) c
            CROSS JOIN LATERAL (VALUES {unnest}) AS m(metric, value)
            WHERE m.value <> 0
            """,
            [dimension],
        )


def build_daily_rollups() -> tuple[int, float]:
    """The daily rollups and customer statistics, as the periodic jobs build them."""
    from django.db import connection

    from adminpanel.customer_stats import customer_stats_refresh
    from adminpanel.models import RollupMark
    from adminpanel.rollups import daily_rollups_refresh

    t = time.perf_counter()
    RollupMark.objects.all().delete()  # a full first build
    counts = daily_rollups_refresh()
    customer_stats_refresh()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    cells = sum(v for k, v in counts.items() if k.endswith(("_cells", "_days")))
    return cells, time.perf_counter() - t


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def measure(*, runs: int) -> list[tuple]:
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    staff, _ = User.objects.get_or_create(
        email="bench-staff@example.com", defaults={"is_staff": True}
    )
    client = Client()
    client.force_login(staff)
    results = []
    pages = [
        "overview",
        "sales",
        "products",
        "funnel",
        "traffic",
        "search",
        "customers",
    ]
    for page in [*pages, "realtime", "data"]:
        url = reverse(f"adminpanel:{page}")
        cold, warm = [], []
        for _ in range(runs):
            cache.clear()
            t = time.perf_counter()
            response = client.get(url, {"range": "30d"})
            cold.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (page, response.status_code)
            t = time.perf_counter()
            client.get(url, {"range": "30d"})
            warm.append((time.perf_counter() - t) * 1000)
        results.append((page, statistics.median(cold), p95(cold), p95(warm)))
    return results


def naive(*, runs: int) -> float:
    """The 30-day Overview computed straight from raw events, as p95 in ms."""
    from django.db import connection

    sql = """
        SELECT date_trunc('day', occurred_at AT TIME ZONE %s) AS day,
               count(*) FILTER (WHERE name = 'page_view'),
               count(DISTINCT session_id), count(DISTINCT visitor_id),
               count(*) FILTER (WHERE name = 'purchase'),
               sum(value) FILTER (WHERE name = 'purchase')
        FROM analytics_event
        WHERE occurred_at >= now() - interval '30 days' AND NOT is_bot
        GROUP BY 1 ORDER BY 1
    """
    samples = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            t = time.perf_counter()
            cursor.execute(sql, ["Europe/London"])
            cursor.fetchall()
            samples.append((time.perf_counter() - t) * 1000)
    return p95(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument(
        "--events", type=int, default=10_000_000, help="events to generate"
    )
    parser.add_argument(
        "--orders", type=int, default=100_000, help="orders to generate"
    )
    parser.add_argument(
        "--database", default="shop_bench_dash", help="PostgreSQL database"
    )
    parser.add_argument("--runs", type=int, default=20, help="requests per page")
    parser.add_argument(
        "--naive-runs", type=int, default=3, help="runs of the naive query"
    )
    parser.add_argument("--reuse", action="store_true", help="keep the existing data")
    args = parser.parse_args()

    env = env_for(args.database)
    if not args.reuse:
        recreate_database(args.database)
        manage(env, "migrate", "--noinput", "-v0")
    os.environ.update(env)
    import django

    django.setup()
    if not args.reuse:
        for name, (rows, seconds) in generate(
            events=args.events, orders=args.orders, now=datetime.now(UTC)
        ).items():
            sys.stdout.write(
                f"generated {name:<9} {rows:>11,} rows in {seconds:7.1f} s\n"
            )
    rows, seconds = build_daily_rollups()
    sys.stdout.write(f"built daily rollups {rows:>9,} cells in {seconds:7.1f} s\n")
    results = measure(runs=args.runs)
    raw = naive(runs=args.naive_runs)
    sys.stdout.write(
        f"\n{'page':<10} {'cold p50':>9} {'cold p95':>9} {'warm p95':>9}  (ms, 30-day range)\n"
    )
    for page, cold50, cold95, warm95 in results:
        sys.stdout.write(f"{page:<10} {cold50:9.1f} {cold95:9.1f} {warm95:9.1f}\n")
    overview = next(r for r in results if r[0] == "overview")
    sys.stdout.write(
        f"\nnaive 30-day aggregate over raw events: p95 {raw:.0f} ms\n"
        f"overview cold p95 {overview[2]:.1f} ms -> ratio {raw / overview[2]:.0f}x; "
        f"warm p95 {overview[3]:.1f} ms -> ratio {raw / overview[3]:.0f}x\n"
    )


if __name__ == "__main__":
    main()
