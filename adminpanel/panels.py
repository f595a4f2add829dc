"""
What each dashboard page shows, assembled from selectors.

A panel function returns plain, picklable data (figures, `Table`s and SVG
strings) so the whole page body can be cached by range.
"""

import datetime as dt

from django.utils import timezone

from shop.money import currency_symbol

from . import charts
from . import selectors as s
from .exports import Table
from .forms import DateRange

CARD_FORMATS = {
    "revenue": "money",
    "orders": "int",
    "aov": "money",
    "conversion_rate": "pct",
    "sessions": "int",
    "visitors": "int",
    "new_customers": "int",
    "cart_abandonment_rate": "pct",
    "bot_share": "pct",
}
CARD_LABELS = {
    "revenue": "Revenue",
    "orders": "Orders",
    "aov": "Average order value",
    "conversion_rate": "Conversion rate",
    "sessions": "Sessions",
    "visitors": "Visitors",
    "new_customers": "New customers",
    "cart_abandonment_rate": "Cart abandonment",
    "bot_share": "Bot share",
}
LOWER_IS_BETTER = {"cart_abandonment_rate", "bot_share"}
# Cards whose figure comes from the clickstream; the others, from orders.
FROM_SESSIONS = {"conversion_rate", "sessions", "visitors", "bot_share"}


def _baseline(rng: DateRange) -> dict[str, bool]:
    """Per source, whether the previous period was recorded (docs/dashboards.md)."""
    return s.history_covers(first=rng.previous().first)


def _previous(key: str, value, baseline: dict[str, bool]):
    """The previous period's figure, or None when it is no baseline."""
    return value if baseline["sessions" if key in FROM_SESSIONS else "orders"] else None


def _cards(
    current: dict, previous: dict, keys: list[str], baseline: dict[str, bool]
) -> list[dict]:
    return [
        {
            "key": key,
            "label": CARD_LABELS.get(key, key.replace("_", " ").capitalize()),
            "value": current[key],
            "previous": _previous(key, previous[key], baseline),
            "kind": CARD_FORMATS.get(key, "int"),
            "lower_is_better": key in LOWER_IS_BETTER,
        }
        for key in keys
    ]


def _compare_line(
    current: list[dict], previous: list[dict], field: str, title: str, unit=""
):
    """The current period's series over the previous one, aligned by position."""
    labels = [row["label"] for row in current]
    prev_values = [row[field] for row in previous][: len(current)]
    prev_values += [0] * (len(current) - len(prev_values))
    return charts.line_chart(
        labels=labels,
        series=[
            ("this period", [row[field] for row in current]),
            ("previous period", prev_values),
        ],
        title=title,
        unit=unit,
    )


def overview_panel(*, rng: DateRange, now: dt.datetime) -> dict:
    prev = rng.previous()
    current = s.kpi_summary(start=rng.start, end=rng.end, now=now)
    previous = s.kpi_summary(start=prev.start, end=prev.end, now=now)
    sales = s.sales_series(start=rng.start, end=rng.end, granularity=rng.granularity)
    sales_prev = s.sales_series(
        start=prev.start, end=prev.end, granularity=rng.granularity
    )
    sessions = s.session_series(
        start=rng.start, end=rng.end, granularity=rng.granularity
    )
    sessions_prev = s.session_series(
        start=prev.start, end=prev.end, granularity=rng.granularity
    )
    return {
        "cards": _cards(current, previous, list(CARD_FORMATS), _baseline(rng)),
        "charts": [
            (
                "Revenue",
                _compare_line(
                    sales, sales_prev, "revenue", "Revenue", currency_symbol()
                ),
            ),
            ("Orders", _compare_line(sales, sales_prev, "orders", "Orders")),
            (
                "Sessions",
                _compare_line(sessions, sessions_prev, "sessions", "Sessions"),
            ),
        ],
        "tables": [
            Table(
                slug="sales-over-time",
                title="Revenue, orders and sessions over time",
                columns=[
                    ("Period", "bucket", "period"),
                    ("Revenue", "revenue", "money"),
                    ("Orders", "orders", "int"),
                    ("Sessions", "sessions", "int"),
                ],
                rows=[
                    {**row, "sessions": sess["sessions"]}
                    for row, sess in zip(sales, sessions, strict=True)
                ],
            )
        ],
    }


def sales_panel(*, rng: DateRange, now: dt.datetime) -> dict:
    prev = rng.previous()
    totals = s.order_totals(start=rng.start, end=rng.end)
    totals_prev = s.order_totals(start=prev.start, end=prev.end)
    series = s.sales_series(start=rng.start, end=rng.end, granularity=rng.granularity)
    series_prev = s.sales_series(
        start=prev.start, end=prev.end, granularity=rng.granularity
    )
    statuses = s.orders_by_status(start=rng.start, end=rng.end)
    cancelled = s.cancelled_orders(start=rng.start, end=rng.end)
    categories = s.category_sales(start=rng.start, end=rng.end)
    cancelled_row = next(r for r in statuses if r["status"] == "Cancelled")
    # Refunds are their own series, by when the money went back; revenue
    # stays what sales took (docs/payments.md).
    refunds = s.refund_totals(start=rng.start, end=rng.end)
    refunds_prev = s.refund_totals(start=prev.start, end=prev.end)
    refund_series = s.refunds_series(
        start=rng.start, end=rng.end, granularity=rng.granularity
    )
    refund_series_prev = s.refunds_series(
        start=prev.start, end=prev.end, granularity=rng.granularity
    )
    by = "hour" if rng.granularity == "hour" else "day"
    return {
        "cards": _cards(
            totals, totals_prev, ["revenue", "orders", "aov"], _baseline(rng)
        )
        + [
            {
                "key": "cancelled",
                "label": "Cancelled (refunded)",
                "value": cancelled_row["value"],
                "previous": None,
                "kind": "money",
                "lower_is_better": True,
            },
            {
                "key": "refunded",
                "label": "Refunded",
                "value": refunds["refunded"],
                "previous": _previous(
                    "refunded", refunds_prev["refunded"], _baseline(rng)
                ),
                "kind": "money",
                "lower_is_better": True,
            },
        ],
        "charts": [
            (
                f"Revenue by {by}",
                _compare_line(
                    series, series_prev, "revenue", "Revenue", currency_symbol()
                ),
            ),
            (
                f"Refunds by {by}",
                _compare_line(
                    refund_series,
                    refund_series_prev,
                    "refunded",
                    "Refunded",
                    currency_symbol(),
                ),
            ),
            (
                "Top categories by revenue",
                charts.bar_chart(
                    rows=[(r["category"], r["revenue"]) for r in categories],
                    title="Top categories by revenue",
                    unit=currency_symbol(),
                ),
            ),
        ],
        "tables": [
            Table(
                slug="revenue-by-" + by,
                title=f"Revenue by {by}",
                columns=[
                    ("Period", "bucket", "period"),
                    ("Revenue", "revenue", "money"),
                    ("Orders", "orders", "int"),
                    ("Refunded", "refunded", "money"),
                    ("Refunds", "refunds", "int"),
                ],
                rows=[
                    {**row, **refund_row}
                    for row, refund_row in zip(series, refund_series, strict=True)
                ],
            ),
            Table(
                slug="orders-by-status",
                title="Orders by status",
                columns=[
                    ("Status", "status", "text"),
                    ("Orders", "orders", "int"),
                    ("Value", "value", "money"),
                ],
                rows=statuses,
            ),
            Table(
                slug="cancellations",
                title="Cancellations",
                note="A cancelled order's stock was returned and its payment refunded.",
                columns=[
                    ("Order", "number", "order"),
                    ("Email", "email", "text"),
                    ("Total", "total", "money"),
                    ("Payment", "payment_method", "text"),
                    ("Placed", "created_at", "datetime"),
                    ("Cancelled", "updated_at", "datetime"),
                ],
                rows=cancelled,
                empty="No cancellations in this period.",
            ),
            Table(
                slug="refunds",
                title="Refunds",
                note="Refunds made in the period, full or partial; open an "
                "order to refund it.",
                columns=[
                    ("Order", "number", "order"),
                    ("Email", "email", "text"),
                    ("Refunded", "amount", "money"),
                    ("Reason", "reason", "text"),
                    ("When", "created_at", "datetime"),
                ],
                rows=s.refunds_latest(start=rng.start, end=rng.end),
                empty="No refunds in this period.",
            ),
            Table(
                slug="latest-orders",
                title="Latest orders",
                columns=[
                    ("Order", "number", "order"),
                    ("Email", "email", "text"),
                    ("Status", "status", "text"),
                    ("Total", "total", "money"),
                    ("Payment", "payment_method", "text"),
                    ("Placed", "created_at", "datetime"),
                ],
                rows=s.orders_latest(start=rng.start, end=rng.end),
                empty="No orders in this period.",
            ),
            Table(
                slug="top-categories",
                title="Top categories",
                columns=[
                    ("Category", "category", "text"),
                    ("Revenue", "revenue", "money"),
                    ("Units", "units", "int"),
                    ("Orders", "orders", "int"),
                ],
                rows=categories,
            ),
        ],
    }


def products_panel(*, rng: DateRange, now: dt.datetime) -> dict:
    performance = s.product_performance(start=rng.start, end=rng.end, limit=0)
    weak = s.products_viewed_not_bought(performance=performance)
    stock = s.stock_alerts()
    columns = [
        ("Product", "name", "text"),
        ("Views", "views", "int"),
        ("Add to cart", "add_to_carts", "int"),
        ("Add-to-cart rate", "add_to_cart_rate", "pct"),
        ("Orders", "orders", "int"),
        ("Conversion", "conversion", "pct"),
        ("Revenue", "revenue", "money"),
    ]
    top = performance[:50]
    return {
        "cards": [],
        "charts": [
            (
                "Most viewed products",
                charts.bar_chart(
                    rows=[(r["name"], r["views"]) for r in top[:10]],
                    title="Most viewed products",
                ),
            )
        ],
        "tables": [
            Table(slug="top-products", title="Top products", columns=columns, rows=top),
            Table(
                slug="viewed-not-bought",
                title="Viewed often, rarely bought",
                note="At least 20 views and at most 1% conversion.",
                columns=columns,
                rows=weak,
                empty="No product is being looked at without selling.",
            ),
            Table(
                slug="stock-alerts",
                title="Low stock and sold out",
                columns=[
                    ("Product", "product_name", "text"),
                    ("SKU", "sku", "text"),
                    ("Stock", "stock", "int"),
                    ("Price", "price", "money"),
                ],
                rows=stock,
                empty="Every variant is well stocked.",
            ),
        ],
    }


def _funnel_table(slug, title, groups, label):
    rows = []
    for group in groups:
        row = {"key": group["key"], "conversion": group["conversion"]}
        for step in group["steps"]:
            row[step["step"]] = step["sessions"]
        rows.append(row)
    return Table(
        slug=slug,
        title=title,
        columns=[(label, "key", "text")]
        + [(lbl, name, "int") for name, lbl in s.FUNNEL_STEPS]
        + [("Conversion", "conversion", "pct")],
        rows=rows,
    )


def funnel_panel(*, rng: DateRange, now: dt.datetime) -> dict:
    prev = rng.previous()
    current = s.funnel(start=rng.start, end=rng.end)
    previous = s.funnel(start=prev.start, end=prev.end)
    steps, prev_steps = current["steps"], previous["steps"]
    baseline = _baseline(rng)
    for step, before in zip(steps, prev_steps, strict=True):
        step["previous"] = _previous("sessions", before["sessions"], baseline)
    overall = steps[-1]["of_start"]
    return {
        "cards": [
            {
                "key": "funnel_conversion",
                "label": "Sessions that purchased",
                "value": overall,
                "previous": _previous("sessions", prev_steps[-1]["of_start"], baseline),
                "kind": "pct",
                "lower_is_better": False,
            }
        ],
        "charts": [
            (
                "Funnel",
                charts.bar_chart(
                    rows=[(step["label"], step["sessions"]) for step in steps],
                    title="Sessions reaching each step",
                ),
            )
        ],
        "steps": steps,
        "tables": [
            Table(
                slug="funnel",
                title="Funnel steps",
                columns=[
                    ("Step", "label", "text"),
                    ("Sessions", "sessions", "int"),
                    ("Previous period", "previous", "int"),
                    ("Of all sessions", "of_start", "pct"),
                    ("Step conversion", "step_conversion", "pct"),
                    ("Drop-off", "drop_off", "pct"),
                ],
                rows=steps,
            ),
            _funnel_table(
                "funnel-by-device", "By device", current["by_device"], "Device"
            ),
            _funnel_table(
                "funnel-by-channel", "By channel", current["by_channel"], "Channel"
            ),
        ],
    }


def _session_table(slug, title, rows, label):
    return Table(
        slug=slug,
        title=title,
        columns=[
            (label, "key", "text"),
            ("Sessions", "sessions", "int"),
            ("Converted", "converted", "int"),
            ("Conversion", "conversion", "pct"),
            ("Revenue", "revenue", "money"),
        ],
        rows=rows,
    )


def traffic_panel(*, rng: DateRange, now: dt.datetime) -> dict:
    start, end = rng.start, rng.end
    groups = {
        field: s.sessions_by(field=field, start=start, end=end)
        for field in (
            "channel",
            "campaign",
            "referrer",
            "landing_path",
            "device",
            "browser",
            "country",
        )
    }
    groups["campaign"] = [r for r in groups["campaign"] if r["key"]]
    for rows in groups.values():
        for row in rows:
            row["key"] = row["key"] or "(none)"
    pages = s.top_pages(start=start, end=end)
    page_views = s.rollup_series(
        metric="page_views", start=start, end=end, granularity=rng.granularity
    )
    return {
        "cards": [],
        "charts": [
            (
                "Sessions by channel",
                charts.bar_chart(
                    rows=[(r["key"], r["sessions"]) for r in groups["channel"][:10]],
                    title="Sessions by channel",
                ),
            ),
            (
                "Page views",
                charts.line_chart(
                    labels=[r["label"] for r in page_views],
                    series=[("page views", [r["value"] for r in page_views])],
                    title="Page views",
                ),
            ),
        ],
        "tables": [
            _session_table("channels", "Channels", groups["channel"], "Channel"),
            _session_table(
                "campaigns", "UTM campaigns", groups["campaign"], "Campaign"
            ),
            _session_table("referrers", "Referrers", groups["referrer"], "Referrer"),
            _session_table(
                "landing-pages", "Landing pages", groups["landing_path"], "Page"
            ),
            Table(
                slug="top-pages",
                title="Most viewed pages",
                columns=[("Page", "key", "text"), ("Page views", "page_views", "int")],
                rows=pages,
            ),
            _session_table("devices", "Devices", groups["device"], "Device"),
            _session_table("browsers", "Browsers", groups["browser"], "Browser"),
            _session_table("countries", "Countries", groups["country"], "Country"),
        ],
    }


def search_panel(*, rng: DateRange, now: dt.datetime) -> dict:
    top = s.search_top_queries(start=rng.start, end=rng.end)
    zero = s.search_zero_results(start=rng.start, end=rng.end)
    converting = s.search_converting_queries(start=rng.start, end=rng.end)
    return {
        "cards": [],
        "charts": [
            (
                "Top queries",
                charts.bar_chart(
                    rows=[(r["query"], r["searches"]) for r in top[:10]],
                    title="Top queries",
                ),
            )
        ],
        "tables": [
            Table(
                slug="top-queries",
                title="Top queries",
                columns=[
                    ("Query", "query", "text"),
                    ("Searches", "searches", "int"),
                    ("Sessions", "sessions", "int"),
                ],
                rows=top,
                empty="No searches in this period.",
            ),
            Table(
                slug="zero-results",
                title="Queries with no results",
                columns=[("Query", "query", "text"), ("Searches", "searches", "int")],
                rows=zero,
                empty="Every search found something.",
            ),
            Table(
                slug="searches-that-sold",
                title="Searches that led to a purchase",
                columns=[
                    ("Query", "query", "text"),
                    ("Purchasing sessions", "sessions", "int"),
                    ("Searches", "searches", "int"),
                ],
                rows=converting,
                empty="No search led to a purchase in this period.",
            ),
        ],
    }


def customers_panel(*, rng: DateRange, now: dt.datetime) -> dict:
    prev = rng.previous()
    counts = s.customer_counts(start=rng.start, end=rng.end)
    counts_prev = s.customer_counts(start=prev.start, end=prev.end)
    top = s.customers_top()
    # As of the range's last moment: its last day is the segments' today.
    rfm = s.customers_rfm(now=min(now, rng.end - dt.timedelta(microseconds=1)))
    refreshed = s.customer_stats_refreshed_at()
    stats_note = (
        f"Customers by email, guests included, every sale up to {timezone.localtime(refreshed):%d %b %Y %H:%M}; "
        "refreshed every 10 minutes."
        if refreshed
        else "Customer statistics refresh every 10 minutes; none yet."
    )
    carts = s.abandoned_carts(start=rng.start, end=rng.end, now=now)
    baseline = _baseline(rng)
    for row in carts["rows"]:
        row["owner"] = row["user__email"] or "(guest)"
    return {
        "cards": [
            {
                "key": key,
                "label": label,
                "value": counts[key],
                "previous": _previous(key, counts_prev[key], baseline),
                "kind": kind,
                "lower_is_better": False,
            }
            for key, label, kind in [
                ("new", "New customers", "int"),
                ("returning", "Returning customers", "int"),
                ("new_revenue", "Revenue from new", "money"),
                ("returning_revenue", "Revenue from returning", "money"),
            ]
        ]
        + [
            {
                "key": "abandoned",
                "label": "Abandoned cart value",
                "value": carts["totals"]["value"],
                "previous": None,
                "kind": "money",
                "lower_is_better": True,
            }
        ],
        "charts": [
            (
                "Customers by segment",
                charts.bar_chart(
                    rows=[(r["segment"], r["customers"]) for r in rfm],
                    title="Customers by RFM segment",
                ),
            )
        ],
        "tables": [
            Table(
                slug="top-customers",
                title="Top customers",
                note=stats_note,
                columns=[
                    ("Email", "email", "text"),
                    ("Orders", "orders", "int"),
                    ("Spend", "spend", "money"),
                    ("Last order", "last_order", "datetime"),
                ],
                rows=top,
                empty="No customer statistics yet: they refresh every 10 minutes.",
            ),
            Table(
                slug="rfm-segments",
                title="Recency, frequency and spend segments",
                note=stats_note,
                columns=[
                    ("Segment", "segment", "text"),
                    ("Rule", "rule", "text"),
                    ("Customers", "customers", "int"),
                    ("Orders", "orders", "int"),
                    ("Spend", "spend", "money"),
                ],
                rows=rfm,
            ),
            Table(
                slug="abandoned-carts",
                title="Abandoned carts",
                note=(
                    f"{carts['totals']['carts']} carts, {carts['totals']['items']} items "
                    "left with no order for 24 hours."
                ),
                columns=[
                    ("Cart", "id", "int"),
                    ("Customer", "owner", "text"),
                    ("Items", "items", "int"),
                    ("Value", "value", "money"),
                    ("Last change", "updated_at", "datetime"),
                ],
                rows=carts["rows"],
                empty="No abandoned carts in this period.",
            ),
        ],
    }


PANELS = {
    "overview": overview_panel,
    "sales": sales_panel,
    "products": products_panel,
    "funnel": funnel_panel,
    "traffic": traffic_panel,
    "search": search_panel,
    "customers": customers_panel,
}


def realtime_tables(*, now: dt.datetime) -> dict:
    snap = s.realtime_snapshot(now=now)
    return {
        "active_visitors": snap["active_visitors"],
        "tables": [
            Table(
                slug="current-pages",
                title="Current pages",
                columns=[("Page", "path", "text"), ("Visitors", "visitors", "int")],
                rows=snap["pages"],
                empty="Nobody is browsing right now.",
            ),
            Table(
                slug="latest-events",
                title="Latest events",
                columns=[
                    ("Time", "occurred_at", "datetime"),
                    ("Event", "name", "text"),
                    ("Page", "path", "text"),
                    ("Device", "device", "text"),
                    ("Country", "country", "text"),
                ],
                rows=snap["events"],
                empty="No events yet.",
            ),
        ],
    }
