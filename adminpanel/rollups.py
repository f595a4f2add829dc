"""
Daily rollups for the dashboards: sessions, visitors, searches, orders and
product sales per local day (the shop's time zone).

The hourly rollups of `analytics/rollups.py` hold counts of events, which add
up over a range; these hold what does not: sessions and the funnel steps they
reached, distinct visitors per day, searches per session and query, and
orders by the day their customer first ordered, and product sales per day
(instead of joining a month of order lines). The dashboard selectors read
them through indexes instead of grouping millions of raw rows.

Each build deletes the days it covers and refills them with one set-based
`INSERT … SELECT` per table, in one transaction: rerunning it gives the same
rows, and cells that no longer exist disappear (an upsert would leave them).
The same SQL runs on PostgreSQL and SQLite; only the local-day and JSON
expressions differ, and Django's backend provides the former.

Attribution: a session belongs to the day it started and reached a step if it
has any human event of that name (up to a day after the window); a search
belongs to the day the session first searched that query; an order's cohort
is the day of its customer's first sale (`Order.NOT_SALES` excluded: not
cancelled, not a card order still unpaid), and product sales count sales only.
"""

import datetime as dt
import re

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import Event, HourlyRollup, SessionSummary
from config.days import local_date, local_days_bounds
from shop.models import Order, OrderLine

from .models import (
    DailyOrderRollup,
    DailyProductRollup,
    DailySearchRollup,
    DailySessionRollup,
    DailyVisitor,
    DailyVisitorCount,
    RollupMark,
)

SESSION_DIMENSIONS = [
    "channel",
    "device",
    "browser",
    "country",
    "campaign",
    "referrer",
    "landing_path",
    "source",
]
# The funnel's steps, in order, by the event that reaches each, and the
# DailySessionRollup column that counts the sessions that reached it.
FUNNEL_EVENTS = [
    "product_view",
    "add_to_cart",
    "begin_checkout",
    "payment_started",
    "purchase",
]
FUNNEL_COLUMNS = [
    "sessions_with_product_view",
    "sessions_with_add_to_cart",
    "sessions_with_checkout",
    "sessions_with_payment",
    "sessions_with_purchase",
]
# A cash order has no payment page: placing it (its purchase) is its
# payment step, so every session that bought has reached it.
FUNNEL_ALSO = {"payment_started": ["purchase"]}
MARK = "daily"
# Events of a session can arrive after the day it started (a visit across
# midnight); a step is looked for up to this long after the window.
SESSION_TAIL = dt.timedelta(days=1)
# Days re-rolled before the last build, for late events and sessions.
LOOKBACK_DAYS = 1
# Orders changed this long before the last build are re-rolled too
# (transactions that were open while it ran).
ORDER_SLACK = dt.timedelta(minutes=10)


def _quote(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_/+:.-]*", value):
        raise ValueError(f"unexpected time zone name {value!r}")
    return f"'{value}'"


def _day_sql(column: str) -> str:
    """SQL for the shop-local date of a timestamp column."""
    sql, params = connection.ops.datetime_cast_date_sql(column, (), settings.TIME_ZONE)
    return sql % tuple(_quote(str(p)) for p in params)


def _p(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _names(names: list[str]) -> str:
    """Event names (the fixed ones above, never input) as SQL literals."""
    return ", ".join(f"'{name}'" for name in names)


def _sessions_build(first: dt.date, last: dt.date) -> dict:
    start, end = local_days_bounds(first, last)
    DailySessionRollup.objects.filter(day__gte=first, day__lte=last).delete()
    DailyVisitor.objects.filter(day__gte=first, day__lte=last).delete()
    flags = ",\n".join(
        f"MAX(CASE WHEN name IN ({_names([name, *FUNNEL_ALSO.get(name, [])])}) "
        f"THEN 1 ELSE 0 END) AS f{i}"
        for i, name in enumerate(FUNNEL_EVENTS)
    )
    human = "CASE WHEN s.is_bot THEN 0 ELSE 1 END"
    steps = ", ".join(
        f"COALESCE(f.f{i}, 0) * {human} AS f{i}" for i in range(len(FUNNEL_EVENTS))
    )
    sums = f"""
        SUM(human), COUNT(DISTINCT CASE WHEN human = 1 THEN visitor_id END),
        SUM(conv), SUM(1 - human), COALESCE(SUM(revenue), 0),
        {", ".join(f"SUM(f{i})" for i in range(len(FUNNEL_EVENTS)))}
    """
    selects = [f"SELECT day, 'all', '', {sums} FROM s GROUP BY day"] + [
        f"SELECT day, '{dim}', SUBSTR({dim}, 1, 500), {sums} FROM s "
        f"WHERE human = 1 GROUP BY day, {dim}"
        for dim in SESSION_DIMENSIONS
    ]
    names = _names(FUNNEL_EVENTS)
    sql = f"""
        WITH f AS (
            SELECT session_id, {flags}
            FROM {Event._meta.db_table}
            WHERE name IN ({names}) AND occurred_at >= %s AND occurred_at < %s
              AND NOT is_bot
            GROUP BY session_id
        ), s AS (
            SELECT {_day_sql("s.started_at")} AS day, s.visitor_id,
                   {", ".join(f"s.{d}" for d in SESSION_DIMENSIONS)},
                   {human} AS human,
                   CASE WHEN s.converted AND NOT s.is_bot THEN 1 ELSE 0 END AS conv,
                   CASE WHEN s.is_bot THEN 0 ELSE s.revenue END AS revenue,
                   {steps}
            FROM {SessionSummary._meta.db_table} s
            LEFT JOIN f ON f.session_id = s.session_id
            WHERE s.started_at >= %s AND s.started_at < %s
        )
        INSERT INTO {DailySessionRollup._meta.db_table}
            (day, dimension, key, sessions, visitors, converted_sessions,
             bot_sessions, revenue, {", ".join(FUNNEL_COLUMNS)})
        {" UNION ALL ".join(selects)}
    """
    cells = _execute(sql, [_p(start), _p(end + SESSION_TAIL), _p(start), _p(end)])
    visitors = _execute(
        f"""
        INSERT INTO {DailyVisitor._meta.db_table} (day, visitor_id)
        SELECT DISTINCT {_day_sql("started_at")}, visitor_id
        FROM {SessionSummary._meta.db_table}
        WHERE started_at >= %s AND started_at < %s AND NOT is_bot
        """,
        [_p(start), _p(end)],
    )
    return {"session_cells": cells, "visitor_days": visitors, **_visitor_counts(first)}


def _visitor_counts(first: dt.date) -> dict:
    """
    Visitors per (day, previous visit day) from `first` on: the later days
    too, as a visitor's previous day may have moved into the rebuilt days.
    """
    DailyVisitorCount.objects.filter(day__gte=first).delete()
    table = DailyVisitor._meta.db_table
    sql = f"""
        INSERT INTO {DailyVisitorCount._meta.db_table} (day, previous_day, visitors)
        SELECT day, previous_day, COUNT(*) FROM (
            SELECT day, LAG(day) OVER (PARTITION BY visitor_id ORDER BY day)
                AS previous_day
            FROM {table}
            WHERE visitor_id IN (SELECT visitor_id FROM {table} WHERE day >= %s)
        ) x
        WHERE day >= %s
        GROUP BY day, previous_day
    """
    day = connection.ops.adapt_datefield_value(first)
    return {"visitor_cells": _execute(sql, [day, day])}


def _search_expressions() -> tuple[str, str]:
    """
    The lower-cased query text and "found nothing", from the `query` and
    `results` the search service records in a search event's properties.
    """
    if connection.vendor == "postgresql":
        return "LOWER(properties ->> 'query')", "properties -> 'results' = '0'::jsonb"
    return (
        "LOWER(JSON_EXTRACT(properties, '$.query'))",
        "JSON_EXTRACT(properties, '$.results') = 0",
    )


def _searches_build(first: dt.date, last: dt.date) -> dict:
    start, end = local_days_bounds(first, last)
    DailySearchRollup.objects.filter(day__gte=first, day__lte=last).delete()
    query, zero = _search_expressions()
    events = Event._meta.db_table
    # A search leads to a purchase when it found something and a purchase
    # follows it in the session (docs/dashboards.md).
    sql = f"""
        WITH bought AS (
            SELECT session_id, MAX(occurred_at) AS last_at FROM {events}
            WHERE name = 'purchase' AND occurred_at >= %s AND occurred_at < %s
              AND NOT is_bot
            GROUP BY session_id
        ), q AS (
            SELECT e.session_id, {query} AS query, e.occurred_at,
                   CASE WHEN {zero} THEN 1 ELSE 0 END AS zero,
                   CASE WHEN NOT ({zero}) AND b.last_at > e.occurred_at
                       THEN 1 ELSE 0 END AS led
            FROM {events} e LEFT JOIN bought b ON b.session_id = e.session_id
            WHERE e.name = 'search' AND e.occurred_at >= %s AND e.occurred_at < %s
              AND NOT e.is_bot
        ), per AS (
            SELECT session_id, SUBSTR(query, 1, 200) AS query,
                   MIN(occurred_at) AS first_at, COUNT(*) AS searches,
                   SUM(zero) AS zero, SUM(led) AS led
            FROM q WHERE query IS NOT NULL AND query <> ''
            GROUP BY session_id, SUBSTR(query, 1, 200)
        )
        INSERT INTO {DailySearchRollup._meta.db_table}
            (day, query, searches, zero_result_searches, sessions,
             purchasing_sessions, purchasing_searches)
        SELECT {_day_sql("first_at")} AS day, query, SUM(searches), SUM(zero),
               COUNT(*), SUM(CASE WHEN led > 0 THEN 1 ELSE 0 END), SUM(led)
        FROM per
        GROUP BY 1, query
    """
    params = [_p(start), _p(end + SESSION_TAIL), _p(start), _p(end)]
    return {"search_cells": _execute(sql, params)}


# The statuses that are not sales (Order.NOT_SALES: cancelled, and card
# orders not paid), as SQL literals: fixed choices, never user input.
_NOT_SALES = ", ".join(f"'{status.value}'" for status in Order.NOT_SALES)


def _orders_build(first: dt.date, last: dt.date) -> dict:
    start, end = local_days_bounds(first, last)
    DailyOrderRollup.objects.filter(day__gte=first, day__lte=last).delete()
    orders = Order._meta.db_table
    sql = f"""
        WITH firsts AS (
            SELECT email, MIN(created_at) AS first_at FROM {orders}
            WHERE status NOT IN ({_NOT_SALES}) AND email IN (
                SELECT email FROM {orders} WHERE created_at >= %s AND created_at < %s
            )
            GROUP BY email
        )
        INSERT INTO {DailyOrderRollup._meta.db_table}
            (day, status, cohort_day, orders, revenue, new_customers)
        SELECT day, status, cohort_day, COUNT(*), SUM(total), SUM(is_first)
        FROM (
            SELECT {_day_sql("o.created_at")} AS day, o.status, o.total,
                   CASE WHEN o.status NOT IN ({_NOT_SALES})
                       THEN {_day_sql("f.first_at")} END AS cohort_day,
                   CASE WHEN o.status NOT IN ({_NOT_SALES})
                       AND o.created_at = f.first_at THEN 1 ELSE 0 END AS is_first
            FROM {orders} o LEFT JOIN firsts f ON f.email = o.email
            WHERE o.created_at >= %s AND o.created_at < %s
        ) x
        GROUP BY day, status, cohort_day
    """
    params = [_p(start), _p(end), _p(start), _p(end)]
    return {"order_cells": _execute(sql, params)}


def _products_build(first: dt.date, last: dt.date) -> dict:
    """
    Per product and local day: units, revenue and orders from placed orders'
    lines, and views and add-to-carts from the hourly rollups.
    """
    start, end = local_days_bounds(first, last)
    DailyProductRollup.objects.filter(day__gte=first, day__lte=last).delete()
    sql = f"""
        INSERT INTO {DailyProductRollup._meta.db_table}
            (day, product_id, units, revenue, orders, views, add_to_carts)
        SELECT day, product_id, SUM(units), SUM(revenue), SUM(orders),
               SUM(views), SUM(adds)
        FROM (
            SELECT day, product_id, SUM(quantity) AS units,
                   SUM(line_total) AS revenue, COUNT(DISTINCT order_id) AS orders,
                   0 AS views, 0 AS adds
            FROM (
                SELECT {_day_sql("o.created_at")} AS day, l.product_id, l.quantity,
                       l.line_total, l.order_id
                FROM {OrderLine._meta.db_table} l
                JOIN {Order._meta.db_table} o ON o.id = l.order_id
                WHERE o.created_at >= %s AND o.created_at < %s
                  AND o.status NOT IN ({_NOT_SALES}) AND l.product_id IS NOT NULL
            ) x
            GROUP BY day, product_id
            UNION ALL
            SELECT {_day_sql("r.hour")} AS day, CAST(r.key AS BIGINT) AS product_id,
                   0, 0, 0,
                   SUM(CASE WHEN r.metric = 'product_views' THEN r.value ELSE 0 END),
                   SUM(CASE WHEN r.metric = 'add_to_carts' THEN r.value ELSE 0 END)
            FROM {HourlyRollup._meta.db_table} r
            WHERE r.dimension = 'product'
              AND r.metric IN ('product_views', 'add_to_carts')
              AND r.hour >= %s AND r.hour < %s
            GROUP BY 1, 2
        ) u
        GROUP BY day, product_id
    """
    params = [_p(start), _p(end), _p(start), _p(end)]
    return {"product_cells": _execute(sql, params)}


@transaction.atomic
def daily_rollups_build(*, first: dt.date, last: dt.date) -> dict:
    """Rebuild every daily rollup for the local days [first, last]."""
    if last < first:
        raise ValueError("last must be on or after first")
    return {
        **_sessions_build(first, last),
        **_searches_build(first, last),
        **_orders_build(first, last),
        **_products_build(first, last),
    }


@transaction.atomic
def daily_rollups_refresh(*, now: dt.datetime | None = None) -> dict:
    """
    Re-roll what may have changed since the last build: sessions and searches
    from the day before it, orders from the earliest day of an order changed
    since (a status change or a cancellation moves figures of its day, and a
    cancelled first order moves its customer's later orders to a new cohort).
    The first build covers everything. Returns the days and cell counts.
    """
    now = now or timezone.now()
    today = local_date(now)
    mark = RollupMark.objects.select_for_update().filter(name=MARK).first()
    if mark is None:
        firsts = [
            SessionSummary.objects.order_by("started_at")
            .values_list("started_at", flat=True)
            .first(),
            Event.objects.order_by("occurred_at")
            .values_list("occurred_at", flat=True)
            .first(),
        ]
        firsts = [f for f in firsts if f is not None]
        session_first = local_date(min(firsts)) if firsts else today
        first_order = (
            Order.objects.order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        order_first = local_date(first_order) if first_order else today
    else:
        session_first = min(
            local_date(mark.built_at) - dt.timedelta(days=LOOKBACK_DAYS), today
        )
        changed = (
            Order.objects.filter(updated_at__gte=mark.built_at - ORDER_SLACK)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        order_first = min([session_first] + ([local_date(changed)] if changed else []))
    counts = {
        **_sessions_build(session_first, today),
        **_searches_build(session_first, today),
        **_orders_build(order_first, today),
        **_products_build(order_first, today),
    }
    RollupMark.objects.update_or_create(name=MARK, defaults={"built_at": now})
    return {"sessions_from": session_first, "orders_from": order_first, **counts}
