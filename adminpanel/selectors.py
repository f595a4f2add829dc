"""
Reads for the staff dashboards.

Every figure is aggregated in SQL over a range-bounded, indexed slice:
orders by `created_at`, sessions by `started_at`, events by
`(name, occurred_at)` and hourly rollups by `(metric, dimension, hour)`.
Python only shapes the few aggregated rows (fills empty buckets, divides).
Times are instants; callers pass the aware bounds of a `DateRange`
(whole days in the shop's time zone), and bucketing by day or hour is done
in that zone. Bot traffic is excluded everywhere except the bot share.
"""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Lower, Trunc
from django.utils import timezone

from analytics.models import Event, HourlyRollup, SessionSummary
from shop.models import Cart, CartLine, Order, OrderLine, Product, ProductVariant

from .forms import shop_tz

ZERO = Decimal("0")
MONEY = DecimalField(max_digits=18, decimal_places=2)
FUNNEL_STEPS = [
    ("sessions", "Sessions"),
    ("product_view", "Viewed a product"),
    ("add_to_cart", "Added to cart"),
    ("begin_checkout", "Began checkout"),
    ("purchase", "Purchased"),
]
# The clickstream records a search's text and result count in `properties`.
SEARCH_QUERY_KEY = "query"
SEARCH_RESULTS_KEY = "results"
ABANDONED_AFTER = dt.timedelta(hours=24)


def _ratio(numerator, denominator) -> float | None:
    """A share between two counts, or None when there is nothing to divide."""
    if not denominator:
        return None
    return float(numerator or 0) / float(denominator)


def _dt_param(value: dt.datetime):
    """A datetime as the database driver wants it in raw SQL."""
    return connection.ops.adapt_datetimefield_value(value)


def _fetch(sql: str, params: Iterable) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()


# ---------------------------------------------------------------------------
# Time buckets
# ---------------------------------------------------------------------------


def _buckets(*, start: dt.datetime, end: dt.datetime, granularity: str) -> list:
    """Every bucket key in [start, end): local dates, or UTC hours."""
    tz = shop_tz()
    if granularity == "day":
        first = timezone.localtime(start, tz).date()
        last = timezone.localtime(end - dt.timedelta(microseconds=1), tz).date()
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    hour = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    keys = []
    while hour < end:
        keys.append(hour)
        hour += dt.timedelta(hours=1)
    return keys


def _bucket_key(value: dt.datetime, granularity: str):
    if granularity == "day":
        return timezone.localtime(value, shop_tz()).date()
    return value.astimezone(dt.UTC)


def _bucket_label(key, granularity: str) -> str:
    if granularity == "day":
        return f"{key:%d %b}"
    return f"{timezone.localtime(key, shop_tz()):%d %b %H:00}"


def _trunc(field: str, granularity: str) -> Trunc:
    return Trunc(field, granularity, output_field=DateTimeField(), tzinfo=shop_tz())


def _series(rows, *, start, end, granularity, fields: list[str]) -> list[dict]:
    """Aggregated rows keyed by bucket, with empty buckets filled with zeros."""
    found = {_bucket_key(row["bucket"], granularity): row for row in rows}
    series = []
    for key in _buckets(start=start, end=end, granularity=granularity):
        row = found.get(key, {})
        series.append(
            {
                "bucket": key,
                "label": _bucket_label(key, granularity),
                **{name: row.get(name) or 0 for name in fields},
            }
        )
    return series


# ---------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------


def _orders_in(start, end):
    return Order.objects.filter(created_at__gte=start, created_at__lt=end)


def order_totals(*, start: dt.datetime, end: dt.datetime) -> dict:
    """Revenue, orders and average order value of placed (not cancelled) orders."""
    totals = (
        _orders_in(start, end)
        .placed()
        .aggregate(
            revenue=Coalesce(Sum("total"), Value(ZERO, MONEY)), orders=Count("id")
        )
    )
    totals["aov"] = totals["revenue"] / totals["orders"] if totals["orders"] else None
    return totals


def customer_counts(*, start: dt.datetime, end: dt.datetime) -> dict:
    """Customers (by email) ordering in the range: new ones had no earlier order."""
    earlier = Order.objects.filter(email=OuterRef("email"), created_at__lt=start)
    return (
        _orders_in(start, end)
        .placed()
        .alias(is_returning=Exists(earlier))
        .aggregate(
            customers=Count("email", distinct=True),
            new=Count("email", distinct=True, filter=Q(is_returning=False)),
            returning=Count("email", distinct=True, filter=Q(is_returning=True)),
            new_revenue=Coalesce(
                Sum("total", filter=Q(is_returning=False)), Value(ZERO, MONEY)
            ),
            returning_revenue=Coalesce(
                Sum("total", filter=Q(is_returning=True)), Value(ZERO, MONEY)
            ),
        )
    )


def sales_series(
    *, start: dt.datetime, end: dt.datetime, granularity: str
) -> list[dict]:
    """Revenue and order count per local day or hour, empty buckets included."""
    rows = (
        _orders_in(start, end)
        .placed()
        .annotate(bucket=_trunc("created_at", granularity))
        .values("bucket")
        .annotate(revenue=Sum("total"), orders=Count("id"))
        .order_by("bucket")
    )
    return _series(
        rows,
        start=start,
        end=end,
        granularity=granularity,
        fields=["revenue", "orders"],
    )


def orders_by_status(*, start: dt.datetime, end: dt.datetime) -> list[dict]:
    rows = {
        row["status"]: row
        for row in _orders_in(start, end)
        .values("status")
        .annotate(orders=Count("id"), value=Sum("total"))
        .order_by()
    }
    return [
        {
            "status": label,
            "orders": rows.get(code, {}).get("orders", 0),
            "value": rows.get(code, {}).get("value") or ZERO,
        }
        for code, label in Order.Status.choices
    ]


def cancelled_orders(
    *, start: dt.datetime, end: dt.datetime, limit: int = 20
) -> list[dict]:
    """The latest cancelled orders: their stock was returned and payment refunded."""
    return list(
        _orders_in(start, end)
        .filter(status=Order.Status.CANCELLED)
        .order_by("-created_at")
        .values(
            "number", "email", "total", "payment_method", "created_at", "updated_at"
        )[:limit]
    )


def category_sales(
    *, start: dt.datetime, end: dt.datetime, limit: int = 10
) -> list[dict]:
    """Categories by revenue from the order lines of placed orders."""
    return list(
        OrderLine.objects.filter(
            order__created_at__gte=start, order__created_at__lt=end
        )
        .exclude(order__status=Order.Status.CANCELLED)
        .filter(product__isnull=False)
        .values(
            category=F("product__category__name"), path=F("product__category__path")
        )
        .annotate(
            revenue=Sum("line_total"),
            units=Sum("quantity"),
            orders=Count("order_id", distinct=True),
        )
        .order_by("-revenue", "category")[:limit]
    )


# ---------------------------------------------------------------------------
# Sessions and rollups
# ---------------------------------------------------------------------------


def session_totals(*, start: dt.datetime, end: dt.datetime) -> dict:
    """Sessions, visitors and converting sessions (bots apart), and the bot share."""
    humans = Q(is_bot=False)
    totals = SessionSummary.objects.filter(
        started_at__gte=start, started_at__lt=end
    ).aggregate(
        sessions=Count("id", filter=humans),
        visitors=Count("visitor_id", distinct=True, filter=humans),
        converted=Count("id", filter=humans & Q(converted=True)),
        bots=Count("id", filter=Q(is_bot=True)),
    )
    totals["conversion_rate"] = _ratio(totals["converted"], totals["sessions"])
    totals["bot_share"] = _ratio(totals["bots"], totals["sessions"] + totals["bots"])
    return totals


def session_series(
    *, start: dt.datetime, end: dt.datetime, granularity: str
) -> list[dict]:
    """
    Sessions (bots apart) per local day or hour of their start.

    Read from session summaries: hourly `sessions` rollups count distinct
    sessions per hour and cannot be summed across hours.
    """
    rows = (
        SessionSummary.objects.filter(
            started_at__gte=start, started_at__lt=end, is_bot=False
        )
        .annotate(bucket=_trunc("started_at", granularity))
        .values("bucket")
        .annotate(sessions=Count("id"))
        .order_by("bucket")
    )
    return _series(
        rows, start=start, end=end, granularity=granularity, fields=["sessions"]
    )


def _rollups(*, metrics: list[str], dimension: str, start, end):
    return HourlyRollup.objects.filter(
        metric__in=metrics, dimension=dimension, hour__gte=start, hour__lt=end
    )


def rollup_series(
    *, metric: str, start: dt.datetime, end: dt.datetime, granularity: str
) -> list[dict]:
    """
    One additive rollup metric (dimension "all") per local day or hour.

    Only for counts and sums of events (page_views, product_views, revenue):
    `visitors` and `sessions` are distinct per hour and do not add up.
    """
    rows = (
        _rollups(metrics=[metric], dimension="all", start=start, end=end)
        .annotate(bucket=_trunc("hour", granularity))
        .values("bucket")
        .annotate(value=Sum("value"))
        .order_by("bucket")
    )
    return _series(
        rows, start=start, end=end, granularity=granularity, fields=["value"]
    )


def rollup_breakdown(
    *, metrics: list[str], dimension: str, start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, Decimal]]:
    """{key: {metric: total}} for one dimension over the range."""
    table: dict[str, dict[str, Decimal]] = {}
    rows = (
        _rollups(metrics=metrics, dimension=dimension, start=start, end=end)
        .values("key", "metric")
        .annotate(total=Sum("value"))
        .order_by()
    )
    for row in rows:
        table.setdefault(row["key"], dict.fromkeys(metrics, ZERO))[row["metric"]] = row[
            "total"
        ]
    return table


def cart_abandonment(*, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> dict:
    """
    Carts left with items and no order for 24 hours, against orders placed.

    Checkout empties the cart, so a cart that still has lines a day after
    its last change was abandoned. Rate = abandoned ÷ (abandoned + orders).
    """
    abandoned = _abandoned_carts(start=start, end=end, now=now).count()
    orders = _orders_in(start, end).count()
    return {
        "abandoned": abandoned,
        "orders": orders,
        "rate": _ratio(abandoned, abandoned + orders),
    }


def _abandoned_carts(*, start, end, now):
    cutoff = min(end, now - ABANDONED_AFTER)
    return Cart.objects.filter(updated_at__gte=start, updated_at__lt=cutoff).filter(
        Exists(CartLine.objects.filter(cart=OuterRef("pk")))
    )


def abandoned_carts(
    *, start: dt.datetime, end: dt.datetime, now: dt.datetime, limit: int = 50
) -> dict:
    """The abandoned carts with their items and value, and totals over all of them."""
    carts = _abandoned_carts(start=start, end=end, now=now)
    lines = CartLine.objects.filter(cart__in=carts)
    totals = lines.aggregate(
        carts=Count("cart_id", distinct=True),
        items=Coalesce(Sum("quantity"), 0),
        value=Coalesce(
            Sum(F("quantity") * F("variant__price"), output_field=MONEY),
            Value(ZERO, MONEY),
        ),
    )
    rows = list(
        carts.annotate(
            items=Sum("lines__quantity"),
            value=Sum(
                F("lines__quantity") * F("lines__variant__price"), output_field=MONEY
            ),
        )
        .values("id", "user__email", "items", "value", "updated_at")
        .order_by("-value", "id")[:limit]
    )
    return {"totals": totals, "rows": rows}


def kpi_summary(*, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> dict:
    """The Overview cards for one period."""
    orders = order_totals(start=start, end=end)
    sessions = session_totals(start=start, end=end)
    customers = customer_counts(start=start, end=end)
    carts = cart_abandonment(start=start, end=end, now=now)
    return {
        "revenue": orders["revenue"],
        "orders": orders["orders"],
        "aov": orders["aov"],
        "conversion_rate": sessions["conversion_rate"],
        "sessions": sessions["sessions"],
        "visitors": sessions["visitors"],
        "new_customers": customers["new"],
        "cart_abandonment_rate": carts["rate"],
        "bot_share": sessions["bot_share"],
    }


# ---------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------


def product_performance(
    *, start: dt.datetime, end: dt.datetime, limit: int = 50
) -> list[dict]:
    """
    Views and add-to-carts (rollups) with orders and revenue (order lines).

    Sorted by views, then revenue; add-to-cart rate = adds ÷ views and
    conversion = orders containing the product ÷ views.
    """
    behaviour = rollup_breakdown(
        metrics=["product_views", "add_to_carts"],
        dimension="product",
        start=start,
        end=end,
    )
    sales = {
        row["product_id"]: row
        for row in OrderLine.objects.filter(
            order__created_at__gte=start,
            order__created_at__lt=end,
            product__isnull=False,
        )
        .exclude(order__status=Order.Status.CANCELLED)
        .values("product_id")
        .annotate(
            orders=Count("order_id", distinct=True),
            units=Sum("quantity"),
            revenue=Sum("line_total"),
        )
        .order_by()
    }
    ids = {int(key) for key in behaviour if key.isdigit()} | set(sales)
    names = dict(Product.objects.filter(pk__in=ids).values_list("pk", "name"))
    rows = []
    for pk in ids:
        seen = behaviour.get(str(pk), {})
        sold = sales.get(pk, {})
        views = int(seen.get("product_views", 0))
        adds = int(seen.get("add_to_carts", 0))
        orders = sold.get("orders", 0)
        rows.append(
            {
                "product_id": pk,
                "name": names.get(pk, f"#{pk} (deleted)"),
                "views": views,
                "add_to_carts": adds,
                "add_to_cart_rate": _ratio(adds, views),
                "orders": orders,
                "units": sold.get("units", 0),
                "revenue": sold.get("revenue") or ZERO,
                "conversion": _ratio(orders, views),
            }
        )
    rows.sort(key=lambda r: (-r["views"], -r["revenue"], r["product_id"]))
    return rows[:limit] if limit else rows


def products_viewed_not_bought(
    *,
    start: dt.datetime,
    end: dt.datetime,
    min_views: int = 20,
    max_conversion: float = 0.01,
    limit: int = 20,
) -> list[dict]:
    """Products seen often but rarely ordered: a price, photo or stock problem."""
    rows = product_performance(start=start, end=end, limit=0)
    weak = [
        r
        for r in rows
        if r["views"] >= min_views and (r["conversion"] or 0) <= max_conversion
    ]
    return weak[:limit]


def stock_alerts(*, threshold: int | None = None, limit: int = 100) -> list[dict]:
    """Variants of active products at or below the low-stock threshold."""
    if threshold is None:
        threshold = settings.SHOP_LOW_STOCK
    return list(
        ProductVariant.objects.filter(product__is_active=True, stock__lte=threshold)
        .order_by("stock", "product__name", "sku")
        .values("id", "sku", "stock", "price", product_name=F("product__name"))[:limit]
    )


# ---------------------------------------------------------------------------
# Funnel
# ---------------------------------------------------------------------------


def funnel_table(*, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """
    Sessions started in the range, by device and channel, with how many
    reached each step (at least one event of that name in the session).
    """
    steps = [name for name, _ in FUNNEL_STEPS[1:]]
    event_table = Event._meta.db_table
    session_table = SessionSummary._meta.db_table
    flags = ",\n".join(
        f"MAX(CASE WHEN name = %s THEN 1 ELSE 0 END) AS s{i}" for i in range(len(steps))
    )
    sums = ", ".join(f"SUM(COALESCE(f.s{i}, 0))" for i in range(len(steps)))
    sql = f"""
        SELECT s.device, s.channel, COUNT(*), {sums}
        FROM {session_table} s
        LEFT JOIN (
            SELECT session_id, {flags}
            FROM {event_table}
            WHERE name IN ({", ".join(["%s"] * len(steps))})
              AND occurred_at >= %s AND occurred_at < %s AND is_bot = %s
            GROUP BY session_id
        ) f ON f.session_id = s.session_id
        WHERE s.started_at >= %s AND s.started_at < %s AND s.is_bot = %s
        GROUP BY s.device, s.channel
    """
    window = [_dt_param(start), _dt_param(end), False]
    params = [*steps, *steps, *window, *window]
    return [
        {
            "device": device or "unknown",
            "channel": channel or "unknown",
            "counts": [int(c or 0) for c in counts],
        }
        for device, channel, *counts in _fetch(sql, params)
    ]


def _funnel_steps(counts: list[int]) -> list[dict]:
    steps = []
    for i, (name, label) in enumerate(FUNNEL_STEPS):
        previous = counts[i - 1] if i else counts[0]
        steps.append(
            {
                "step": name,
                "label": label,
                "sessions": counts[i],
                "of_start": _ratio(counts[i], counts[0]),
                "step_conversion": _ratio(counts[i], previous) if i else None,
                "drop_off": (1 - _ratio(counts[i], previous))
                if i and previous
                else None,
            }
        )
    return steps


def funnel(*, start: dt.datetime, end: dt.datetime) -> dict:
    """The purchase funnel overall, by device and by channel."""
    table = funnel_table(start=start, end=end)
    width = len(FUNNEL_STEPS)
    overall = [0] * width
    by = {"device": {}, "channel": {}}
    for row in table:
        for dimension in by:
            bucket = by[dimension].setdefault(row[dimension], [0] * width)
            for i, count in enumerate(row["counts"]):
                bucket[i] += count
        for i, count in enumerate(row["counts"]):
            overall[i] += count

    def shaped(groups):
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return [
            {
                "key": key,
                "counts": counts,
                "steps": _funnel_steps(counts),
                "conversion": _ratio(counts[-1], counts[0]),
            }
            for key, counts in ordered
        ]

    return {
        "steps": _funnel_steps(overall),
        "by_device": shaped(by["device"]),
        "by_channel": shaped(by["channel"]),
    }


# ---------------------------------------------------------------------------
# Traffic
# ---------------------------------------------------------------------------


def _human_sessions(start, end):
    return SessionSummary.objects.filter(
        started_at__gte=start, started_at__lt=end, is_bot=False
    )


def sessions_by(
    *, field: str, start: dt.datetime, end: dt.datetime, limit: int = 20
) -> list[dict]:
    """Sessions grouped by one session column, with conversion and revenue."""
    if field not in {
        "channel",
        "referrer",
        "campaign",
        "landing_path",
        "device",
        "browser",
        "country",
        "source",
    }:
        raise ValueError(f"Cannot group sessions by {field!r}.")
    rows = list(
        _human_sessions(start, end)
        .values(key=F(field))
        .annotate(
            sessions=Count("id"),
            converted=Count("id", filter=Q(converted=True)),
            revenue=Coalesce(Sum("revenue"), Value(ZERO, MONEY)),
        )
        .order_by("-sessions", "key")[:limit]
    )
    for row in rows:
        row["conversion"] = _ratio(row["converted"], row["sessions"])
    return rows


def top_pages(*, start: dt.datetime, end: dt.datetime, limit: int = 20) -> list[dict]:
    """Pages by page views, from the hourly rollups (counts sum across hours)."""
    return list(
        _rollups(metrics=["page_views"], dimension="page", start=start, end=end)
        .values("key")
        .annotate(page_views=Sum("value"))
        .order_by("-page_views", "key")[:limit]
    )


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------


def _searches(start, end):
    return Event.objects.filter(
        name="search", occurred_at__gte=start, occurred_at__lt=end, is_bot=False
    ).annotate(query=Lower(KeyTextTransform(SEARCH_QUERY_KEY, "properties")))


def search_top_queries(
    *, start: dt.datetime, end: dt.datetime, limit: int = 25
) -> list[dict]:
    return list(
        _searches(start, end)
        .exclude(query__isnull=True)
        .exclude(query="")
        .values("query")
        .annotate(searches=Count("id"), sessions=Count("session_id", distinct=True))
        .order_by("-searches", "query")[:limit]
    )


def search_zero_results(
    *, start: dt.datetime, end: dt.datetime, limit: int = 25
) -> list[dict]:
    return list(
        _searches(start, end)
        .filter(**{f"properties__{SEARCH_RESULTS_KEY}": 0})
        .exclude(query__isnull=True)
        .exclude(query="")
        .values("query")
        .annotate(searches=Count("id"))
        .order_by("-searches", "query")[:limit]
    )


def search_converting_queries(
    *, start: dt.datetime, end: dt.datetime, limit: int = 25
) -> list[dict]:
    """Queries searched in sessions that went on to purchase."""
    purchasing = Event.objects.filter(
        name="purchase", occurred_at__gte=start, occurred_at__lt=end, is_bot=False
    ).values("session_id")
    return list(
        _searches(start, end)
        .filter(session_id__in=purchasing)
        .exclude(query__isnull=True)
        .exclude(query="")
        .values("query")
        .annotate(searches=Count("id"), sessions=Count("session_id", distinct=True))
        .order_by("-sessions", "-searches", "query")[:limit]
    )


# ---------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------


def customers_top(
    *, start: dt.datetime, end: dt.datetime, limit: int = 25
) -> list[dict]:
    return list(
        _orders_in(start, end)
        .placed()
        .values("email")
        .annotate(orders=Count("id"), spend=Sum("total"), last_order=Max("created_at"))
        .order_by("-spend", "email")[:limit]
    )


RFM_SEGMENTS = [
    ("champions", "Champions", "ordered in the last 30 days, 3+ orders"),
    ("loyal", "Loyal", "3+ orders, last within 90 days"),
    ("new", "New", "one order, within 30 days"),
    ("promising", "Promising", "ordered within 90 days"),
    ("at_risk", "At risk", "2+ orders, none for 90 days"),
    ("lost", "Lost", "one order, more than 90 days ago"),
]


def customers_rfm(*, now: dt.datetime) -> list[dict]:
    """
    Recency, frequency and spend segments over every placed order until now.

    One grouped query per customer (email), bucketed with CASE in SQL.
    """
    table = Order._meta.db_table
    recent, active = now - dt.timedelta(days=30), now - dt.timedelta(days=90)
    sql = f"""
        SELECT segment, COUNT(*), SUM(orders), SUM(spend), MAX(last_order)
        FROM (
            SELECT
                CASE
                    WHEN last_order >= %s AND orders >= 3 THEN 'champions'
                    WHEN last_order >= %s AND orders >= 3 THEN 'loyal'
                    WHEN last_order >= %s AND orders = 1 THEN 'new'
                    WHEN last_order >= %s THEN 'promising'
                    WHEN orders >= 2 THEN 'at_risk'
                    ELSE 'lost'
                END AS segment,
                orders, spend, last_order
            FROM (
                SELECT email, MAX(created_at) AS last_order, COUNT(*) AS orders,
                       SUM(total) AS spend
                FROM {table}
                WHERE status <> %s AND created_at < %s
                GROUP BY email
            ) per_customer
        ) segmented
        GROUP BY segment
    """
    params = [
        _dt_param(recent),
        _dt_param(active),
        _dt_param(recent),
        _dt_param(active),
        Order.Status.CANCELLED.value,
        _dt_param(now),
    ]
    found = {row[0]: row for row in _fetch(sql, params)}
    rows = []
    for code, label, rule in RFM_SEGMENTS:
        _, customers, orders, spend, _last = found.get(code, (code, 0, 0, ZERO, None))
        rows.append(
            {
                "segment": label,
                "rule": rule,
                "customers": int(customers or 0),
                "orders": int(orders or 0),
                "spend": Decimal(str(spend or 0)).quantize(Decimal("0.01")),
            }
        )
    return rows


# ---------------------------------------------------------------------------
# Realtime
# ---------------------------------------------------------------------------


def realtime_snapshot(
    *, now: dt.datetime, window_minutes: int = 5, limit: int = 20
) -> dict:
    """Visitors active in the last minutes, their current pages, the latest events."""
    since = now - dt.timedelta(minutes=window_minutes)
    recent = Event.objects.filter(
        occurred_at__gte=since, occurred_at__lte=now, is_bot=False
    )
    active = recent.aggregate(visitors=Count("visitor_id", distinct=True))["visitors"]
    # A visitor's current page is the path of their latest page view.
    latest = (
        Event.objects.filter(
            visitor_id=OuterRef("visitor_id"),
            name="page_view",
            occurred_at__gte=since,
            occurred_at__lte=now,
            is_bot=False,
        )
        .order_by("-occurred_at", "-id")
        .values("id")[:1]
    )
    pages = list(
        recent.filter(name="page_view", id=Subquery(latest))
        .values("path")
        .annotate(visitors=Count("visitor_id", distinct=True))
        .order_by("-visitors", "path")[:limit]
    )
    events = list(
        Event.objects.filter(is_bot=False, occurred_at__lte=now)
        .order_by("-occurred_at", "-id")
        .values("occurred_at", "name", "path", "device", "country", "visitor_id")[
            :limit
        ]
    )
    return {"active_visitors": active, "pages": pages, "events": events, "since": since}


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

# Above this many rows the planner's estimate stands in for COUNT(*), which
# would read the whole table (the events table holds millions of rows).
EXACT_COUNT_BELOW = 100_000


def table_stats() -> list[dict]:
    """Each table of the database with its row count and size on disk."""
    if connection.vendor == "postgresql":
        rows = _fetch(
            """
            SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
            ORDER BY c.relname
            """,
            [],
        )
        stats = {
            name: {"table": name, "rows": estimate, "bytes": size, "estimated": True}
            for name, estimate, size in rows
        }
        small = [name for name, estimate, _ in rows if estimate < EXACT_COUNT_BELOW]
    else:
        names = sorted(connection.introspection.table_names())
        stats = {
            name: {"table": name, "rows": 0, "bytes": None, "estimated": False}
            for name in names
        }
        small = names
    if small:
        qn = connection.ops.quote_name
        union = " UNION ALL ".join(
            f"SELECT %s, COUNT(*) FROM {qn(name)}" for name in small
        )
        for name, count in _fetch(union, small):
            stats[name].update(rows=count, estimated=False)
    return sorted(
        stats.values(), key=lambda s: (-(s["bytes"] or 0), -s["rows"], s["table"])
    )


# ---------------------------------------------------------------------------
# Cache invalidation signal
# ---------------------------------------------------------------------------


def rollup_watermark() -> dt.datetime | None:
    """The newest rolled-up hour, read through the (metric, dimension, hour) index."""
    return (
        HourlyRollup.objects.filter(metric="sessions", dimension="all")
        .order_by("-hour")
        .values_list("hour", flat=True)
        .first()
    )
