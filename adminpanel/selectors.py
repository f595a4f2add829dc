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
    Case,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, Trunc
from django.utils import timezone

from analytics.models import Event, HourlyRollup, SessionSummary
from config.days import local_date, local_days_covering, local_midnight, shop_zone
from shop.models import (
    Cart,
    CartLine,
    Order,
    OrderLine,
    Product,
    ProductVariant,
    Refund,
)

from .models import (
    CustomerStats,
    DailyOrderRollup,
    DailyProductRollup,
    DailySearchRollup,
    DailySessionRollup,
    DailyVisitorCount,
)
from .rollups import FUNNEL_COLUMNS, SESSION_DIMENSIONS

ZERO = Decimal("0")
MONEY = DecimalField(max_digits=18, decimal_places=2)
FUNNEL_STEPS = [
    ("sessions", "Sessions"),
    ("product_view", "Viewed a product"),
    ("add_to_cart", "Added to cart"),
    ("begin_checkout", "Began checkout"),
    ("payment_started", "Started payment"),
    ("purchase", "Purchased"),
]
ABANDONED_AFTER = dt.timedelta(hours=24)


def _ratio(numerator, denominator) -> float | None:
    """A share between two counts, or None when there is nothing to divide."""
    if not denominator:
        return None
    return float(numerator or 0) / float(denominator)


def _fetch(sql: str, params: Iterable) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()


# ---------------------------------------------------------------------------
# Time buckets
# ---------------------------------------------------------------------------


def _buckets(*, start: dt.datetime, end: dt.datetime, granularity: str) -> list:
    """Every bucket key in [start, end): local dates, or UTC hours."""
    if granularity == "day":
        first, last = local_days_covering(start, end)
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    hour = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    keys = []
    while hour < end:
        keys.append(hour)
        hour += dt.timedelta(hours=1)
    return keys


def _bucket_key(value: dt.datetime | dt.date, granularity: str):
    if granularity == "day":
        if not isinstance(value, dt.datetime):
            return value  # already a local day, from a daily rollup
        return local_date(value)
    return value.astimezone(dt.UTC)


def _bucket_label(key, granularity: str) -> str:
    if granularity == "day":
        return f"{key:%d %b}"
    return f"{timezone.localtime(key, shop_zone()):%d %b %H:00}"


def _trunc(field: str, granularity: str) -> Trunc:
    return Trunc(field, granularity, output_field=DateTimeField(), tzinfo=shop_zone())


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


def _order_days(start, end):
    first, last = local_days_covering(start, end)
    return DailyOrderRollup.objects.filter(day__gte=first, day__lte=last)


def order_totals(*, start: dt.datetime, end: dt.datetime) -> dict:
    """Revenue, orders and average order value of placed (not cancelled) orders."""
    totals = (
        _order_days(start, end)
        .exclude(status__in=Order.NOT_SALES)
        .aggregate(
            revenue=Coalesce(Sum("revenue"), Value(ZERO, MONEY)),
            orders=Coalesce(Sum("orders"), 0),
        )
    )
    totals["aov"] = totals["revenue"] / totals["orders"] if totals["orders"] else None
    return totals


def new_customers(*, start: dt.datetime, end: dt.datetime) -> int:
    """Customers whose first placed order falls in the range."""
    return (
        _order_days(start, end)
        .exclude(status__in=Order.NOT_SALES)
        .aggregate(n=Coalesce(Sum("new_customers"), 0))["n"]
    )


def customer_counts(*, start: dt.datetime, end: dt.datetime) -> dict:
    """
    Customers (by email) ordering in the range: new ones had no earlier order.

    New customers and the revenue split come from the daily order rollup
    (by the day of each customer's first placed order); the distinct count of
    customers in the range is read live from orders by `created_at`.
    """
    first, _ = local_days_covering(start, end)
    split = (
        _order_days(start, end)
        .exclude(status__in=Order.NOT_SALES)
        .aggregate(
            new=Coalesce(Sum("new_customers"), 0),
            new_revenue=Coalesce(
                Sum("revenue", filter=Q(cohort_day__gte=first)), Value(ZERO, MONEY)
            ),
            returning_revenue=Coalesce(
                Sum("revenue", filter=Q(cohort_day__lt=first)), Value(ZERO, MONEY)
            ),
        )
    )
    customers = (
        _orders_in(start, end).placed().aggregate(n=Count("email", distinct=True))["n"]
    )
    return {
        "customers": customers,
        "returning": customers - split["new"],
        **split,
    }


def sales_series(
    *, start: dt.datetime, end: dt.datetime, granularity: str
) -> list[dict]:
    """Revenue and order count per local day (rollup) or hour (orders)."""
    if granularity == "day":
        rows = (
            _order_days(start, end)
            .exclude(status__in=Order.NOT_SALES)
            .values(bucket=F("day"))
            .annotate(revenue=Sum("revenue"), orders=Sum("orders"))
            .order_by("bucket")
        )
    else:
        rows = _bucketed(
            _orders_in(start, end).placed(),
            granularity=granularity,
            revenue=Sum("total"),
            orders=Count("id"),
        )
    return _series(
        rows,
        start=start,
        end=end,
        granularity=granularity,
        fields=["revenue", "orders"],
    )


def _bucketed(queryset, *, granularity: str, **aggregates):
    """`aggregates` of `queryset` per local day or hour of its `created_at`."""
    return (
        queryset.annotate(bucket=_trunc("created_at", granularity))
        .values("bucket")
        .annotate(**aggregates)
        .order_by("bucket")
    )


def orders_by_status(*, start: dt.datetime, end: dt.datetime) -> list[dict]:
    rows = {
        row["status"]: row
        for row in _order_days(start, end)
        .values("status")
        .annotate(n=Sum("orders"), value=Sum("revenue"))
        .order_by()
    }
    return [
        {
            "status": label,
            "orders": rows.get(code, {}).get("n") or 0,
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


def orders_latest(
    *, start: dt.datetime, end: dt.datetime, limit: int = 20
) -> list[dict]:
    """The latest orders placed in the range, whatever their status."""
    fields = ["number", "email", "status", "total", "payment_method", "created_at"]
    rows = list(
        _orders_in(start, end).order_by("-created_at", "-id").values(*fields)[:limit]
    )
    labels = dict(Order.Status.choices)
    for row in rows:
        row["status"] = labels.get(row["status"], row["status"])
    return rows


def _refunds_in(start, end):
    return Refund.objects.filter(created_at__gte=start, created_at__lt=end)


def refund_totals(*, start: dt.datetime, end: dt.datetime) -> dict:
    """
    Money refunded in the range (by when the refund was made, not when its
    order was placed) and how many refunds. Apart from sales: revenue
    counts what orders took, this what went back.
    """
    return _refunds_in(start, end).aggregate(
        refunded=Coalesce(Sum("amount"), Value(ZERO, MONEY)), refunds=Count("id")
    )


def refunds_series(
    *, start: dt.datetime, end: dt.datetime, granularity: str
) -> list[dict]:
    """Money refunded and refunds made per local day or hour."""
    return _series(
        _bucketed(
            _refunds_in(start, end),
            granularity=granularity,
            refunded=Sum("amount"),
            refunds=Count("id"),
        ),
        start=start,
        end=end,
        granularity=granularity,
        fields=["refunded", "refunds"],
    )


def refunds_latest(
    *, start: dt.datetime, end: dt.datetime, limit: int = 20
) -> list[dict]:
    """The latest refunds made in the range, with their orders."""
    return list(
        _refunds_in(start, end)
        .order_by("-created_at", "-id")
        .values(
            "amount",
            "reason",
            "created_at",
            number=F("order__number"),
            email=F("order__email"),
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
        .exclude(order__status__in=Order.NOT_SALES)
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


def _session_days(start, end, dimension: str = "all"):
    first, last = local_days_covering(start, end)
    return DailySessionRollup.objects.filter(
        dimension=dimension, day__gte=first, day__lte=last
    )


def session_totals(*, start: dt.datetime, end: dt.datetime) -> dict:
    """
    Sessions, visitors and converting sessions (bots apart), and the bot share.

    From the daily session rollup; visitors are distinct over the whole
    range, counted from the per-day visitor table through its index.
    """
    first, last = local_days_covering(start, end)
    totals = _session_days(start, end).aggregate(
        sessions=Coalesce(Sum("sessions"), 0),
        converted=Coalesce(Sum("converted_sessions"), 0),
        bots=Coalesce(Sum("bot_sessions"), 0),
    )
    totals["visitors"] = DailyVisitorCount.objects.filter(
        Q(previous_day__isnull=True) | Q(previous_day__lt=first),
        day__gte=first,
        day__lte=last,
    ).aggregate(n=Coalesce(Sum("visitors"), 0))["n"]
    totals["conversion_rate"] = _ratio(totals["converted"], totals["sessions"])
    totals["bot_share"] = _ratio(totals["bots"], totals["sessions"] + totals["bots"])
    return totals


def session_series(
    *, start: dt.datetime, end: dt.datetime, granularity: str
) -> list[dict]:
    """
    Sessions (bots apart) per local day (daily rollup) or hour of their start
    (session summaries: a range by the hour is at most two days).
    """
    if granularity == "day":
        rows = (
            _session_days(start, end)
            .values(bucket=F("day"))
            .annotate(n=Sum("sessions"))
            .values("bucket", sessions=F("n"))
            .order_by("bucket")
        )
    else:
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


def cart_abandonment(*, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> dict:
    """
    Carts left with items and no order for 24 hours, against checkouts
    (docs/dashboards.md): rate = abandoned ÷ (abandoned + orders placed).

    Checkout empties the cart, so a cart that still has lines a day after
    its last change was abandoned. Both sides stop 24 hours before `now`:
    a cart changed since may still become an order.
    """
    abandoned = _abandoned_carts(start=start, end=end, now=now).count()
    orders = _orders_in(start, _decided_before(end=end, now=now)).count()
    return {
        "abandoned": abandoned,
        "orders": orders,
        "rate": _ratio(abandoned, abandoned + orders),
    }


def _decided_before(*, end, now):
    """Where a cart's fate is known: a day after its last change."""
    return min(end, now - ABANDONED_AFTER)


def _abandoned_carts(*, start, end, now):
    cutoff = _decided_before(end=end, now=now)
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
    carts = cart_abandonment(start=start, end=end, now=now)
    return {
        "revenue": orders["revenue"],
        "orders": orders["orders"],
        "aov": orders["aov"],
        "conversion_rate": sessions["conversion_rate"],
        "sessions": sessions["sessions"],
        "visitors": sessions["visitors"],
        "new_customers": new_customers(start=start, end=end),
        "cart_abandonment_rate": carts["rate"],
        "bot_share": sessions["bot_share"],
    }


def history_covers(*, first: dt.date) -> dict[str, bool]:
    """
    Whether recorded history reaches back to the local day `first`, for
    figures from the clickstream ("sessions") and from orders ("orders"):
    a previous period is a baseline only when it was wholly recorded.
    """
    starts = {
        "sessions": DailySessionRollup.objects.filter(dimension="all").aggregate(
            day=Min("day")
        )["day"],
        "orders": DailyOrderRollup.objects.aggregate(day=Min("day"))["day"],
    }
    return {source: day is not None and day <= first for source, day in starts.items()}


# ---------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------


def product_performance(
    *, start: dt.datetime, end: dt.datetime, limit: int = 50
) -> list[dict]:
    """
    Views, add-to-carts, orders, units and revenue per product, from the
    daily product rollups (views and adds from the hourly rollups, sales from
    the lines of placed orders).

    Sorted by views, then revenue; add-to-cart rate = adds ÷ views and
    conversion = orders containing the product ÷ views.
    """
    first, last = local_days_covering(start, end)
    sales = {
        row["product_id"]: row
        for row in DailyProductRollup.objects.filter(day__gte=first, day__lte=last)
        .values("product_id")
        .annotate(
            orders=Sum("orders"),
            units=Sum("units"),
            revenue=Sum("revenue"),
            views=Sum("views"),
            add_to_carts=Sum("add_to_carts"),
        )
        .order_by()
    }
    ids = set(sales)
    names = dict(Product.objects.filter(pk__in=ids).values_list("pk", "name"))
    rows = []
    for pk in ids:
        sold = sales[pk]
        views = int(sold.get("views") or 0)
        adds = int(sold.get("add_to_carts") or 0)
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
    performance: list[dict],
    min_views: int = 20,
    max_conversion: float = 0.01,
    limit: int = 20,
) -> list[dict]:
    """
    From `product_performance` rows, products seen often but rarely ordered:
    a price, photo or stock problem.
    """
    weak = [
        r
        for r in performance
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


STEP_COLUMNS = ["sessions", *FUNNEL_COLUMNS]


def funnel_table(*, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """
    Sessions started in the range, overall, by device and by channel, with
    how many reached each step (at least one event of that name in the
    session), from the daily session rollup.
    """
    first, last = local_days_covering(start, end)
    rows = (
        DailySessionRollup.objects.filter(
            dimension__in=["all", "device", "channel"], day__gte=first, day__lte=last
        )
        .values("dimension", "key")
        .annotate(**{f"c{i}": Sum(column) for i, column in enumerate(STEP_COLUMNS)})
        .order_by()
    )
    return [
        {
            "dimension": row["dimension"],
            "key": row["key"] or "unknown",
            "counts": [int(row[f"c{i}"] or 0) for i in range(len(STEP_COLUMNS))],
        }
        for row in rows
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
    width = len(FUNNEL_STEPS)
    overall = [0] * width
    by = {"device": {}, "channel": {}}
    for row in funnel_table(start=start, end=end):
        if row["dimension"] == "all":
            overall = row["counts"]
        else:
            bucket = by[row["dimension"]].setdefault(row["key"], [0] * width)
            for i, count in enumerate(row["counts"]):
                bucket[i] += count

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


# What the daily session rollups are kept by.
SESSION_FIELDS = frozenset(SESSION_DIMENSIONS)


def sessions_by(
    *, field: str, start: dt.datetime, end: dt.datetime, limit: int = 20
) -> list[dict]:
    """Sessions grouped by one session column, with conversion and revenue."""
    if field not in SESSION_FIELDS:
        raise ValueError(f"Cannot group sessions by {field!r}.")
    rows = list(
        _session_days(start, end, dimension=field)
        .values("key")
        .annotate(
            sessions=Sum("sessions"),
            converted=Sum("converted_sessions"),
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


def _search_days(start, end):
    first, last = local_days_covering(start, end)
    return DailySearchRollup.objects.filter(day__gte=first, day__lte=last)


def search_top_queries(
    *, start: dt.datetime, end: dt.datetime, limit: int = 25
) -> list[dict]:
    return list(
        _search_days(start, end)
        .values("query")
        .annotate(n=Sum("searches"), s=Sum("sessions"))
        .values("query", searches=F("n"), sessions=F("s"))
        .order_by("-searches", "query")[:limit]
    )


def search_zero_results(
    *, start: dt.datetime, end: dt.datetime, limit: int = 25
) -> list[dict]:
    return list(
        _search_days(start, end)
        .filter(zero_result_searches__gt=0)
        .values("query")
        .annotate(n=Sum("zero_result_searches"))
        .values("query", searches=F("n"))
        .order_by("-searches", "query")[:limit]
    )


def search_converting_queries(
    *, start: dt.datetime, end: dt.datetime, limit: int = 25
) -> list[dict]:
    """Queries searched in sessions that went on to purchase."""
    return list(
        _search_days(start, end)
        .filter(purchasing_sessions__gt=0)
        .values("query")
        .annotate(n=Sum("purchasing_searches"), s=Sum("purchasing_sessions"))
        .values("query", searches=F("n"), sessions=F("s"))
        .order_by("-sessions", "-searches", "query")[:limit]
    )


# ---------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------


def customers_top(*, limit: int = 25) -> list[dict]:
    """Customers by lifetime spend, from the customer statistics."""
    return list(
        CustomerStats.objects.order_by("-lifetime_value", "email").values(
            "email",
            orders=F("orders_count"),
            spend=F("lifetime_value"),
            last_order=F("last_order_at"),
        )[:limit]
    )


def customer_stats_refreshed_at() -> dt.datetime | None:
    """When the `refresh_customer_stats` job last rebuilt the statistics."""
    return CustomerStats.objects.aggregate(at=Max("refreshed_at"))["at"]


# In order: a customer is in the first segment whose rule applies.
RFM_SEGMENTS = [
    ("new", "New", "first order within 30 days"),
    ("champions", "Champions", "ordered in the last 30 days, 3+ orders"),
    ("loyal", "Loyal", "3+ orders, last within 90 days"),
    ("promising", "Promising", "ordered within 90 days"),
    ("at_risk", "At risk", "2+ orders, none for 90 days"),
    ("lost", "Lost", "one order, more than 90 days ago"),
]


def customers_rfm(*, now: dt.datetime) -> list[dict]:
    """
    Recency, frequency and spend segments of every customer, from the
    customer statistics (every sale as of their last refresh): one grouped
    query, bucketed with CASE in SQL.

    "Within 30 days" is the 30 local days ending on `now`'s day, the "Last
    30 days" preset's: New then holds exactly the customers that preset's
    "New customers" card counts (docs/dashboards.md).
    """
    today = local_date(now)
    recent = local_midnight(today - dt.timedelta(days=29))
    active = local_midnight(today - dt.timedelta(days=89))
    segment = Case(
        When(first_order_at__gte=recent, then=Value("new")),
        When(last_order_at__gte=recent, orders_count__gte=3, then=Value("champions")),
        When(last_order_at__gte=active, orders_count__gte=3, then=Value("loyal")),
        When(last_order_at__gte=active, then=Value("promising")),
        When(orders_count__gte=2, then=Value("at_risk")),
        default=Value("lost"),
    )
    found = {
        row["segment"]: row
        for row in CustomerStats.objects.filter(orders_count__gt=0)
        .annotate(segment=segment)
        .values("segment")
        .annotate(
            customers=Count("id"),
            orders=Sum("orders_count"),
            spend=Sum("lifetime_value"),
        )
        .order_by()
    }
    rows = []
    for code, label, rule in RFM_SEGMENTS:
        row = found.get(code, {})
        rows.append(
            {
                "segment": label,
                "rule": rule,
                "customers": int(row.get("customers") or 0),
                "orders": int(row.get("orders") or 0),
                "spend": Decimal(str(row.get("spend") or 0)).quantize(Decimal("0.01")),
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
    # A visitor's current page is the path of their latest page view: one
    # window function over the page views in the window, not a subquery per
    # page view (which grows with the square of the traffic).
    latest = (
        recent.filter(name="page_view")
        .annotate(
            newest=Window(
                RowNumber(),
                partition_by=F("visitor_id"),
                order_by=[F("occurred_at").desc(), F("id").desc()],
            )
        )
        .filter(newest=1)
        .values("id")
    )
    pages = list(
        Event.objects.filter(id__in=latest)
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
