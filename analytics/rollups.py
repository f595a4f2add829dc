"""
Hourly rollups: the numbers the dashboards read.

Each `HourlyRollup(hour, metric, dimension, key, value)` row is one metric for
one dimension value in one UTC hour. Bots are excluded from every metric
except `bot_page_views`. Cells whose value is zero are not stored.

Metrics
    page_views      count of `page_view` events
    visitors        distinct visitor_id in that hour and cell
    sessions        distinct session_id in that hour and cell
    product_views   count of `product_view`
    add_to_carts    count of `add_to_cart`
    checkouts       count of `begin_checkout`
    purchases       count of `purchase`
    revenue         sum of `value` over `purchase` events (shop currency)
    searches        count of `search`
    bot_page_views  page views by flagged bots (dimension "all" only), for
                    the bot share: bot_page_views / (page_views + bot_page_views)

Dimensions and their keys
    all        ""                       every event
    page       path (query string kept, sensitive parameters stripped)
    product    product id as a string   events that carry a product_id
    category   category slug            via the event's product (when the
                                        caller says how: `category_of`)
    channel    paid, email, social, organic, referral or direct
    device     desktop, mobile, tablet or other
    campaign   utm_campaign             events of sessions with a campaign

Purchases carry an order, not a product, so `purchases` and `revenue` are
absent from the product and category dimensions; use `add_to_carts` there.

Counting distinct visitors or sessions over a range: hourly `visitors` and
`sessions` cannot be summed across hours (a visitor who came back at 10:00
and 14:00 counts once in each). Sum them only as "visitor-hours"; for true
distinct counts over a range, count from SessionSummary, e.g.
`SessionSummary.objects.filter(started_at__range=..., is_bot=False)
.values("visitor_id").distinct().count()` and `.count()` for sessions,
grouped by `channel` or `device` as needed (these are session attributes).
"""

import csv
import io
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.expressions import BaseExpression
from django.db.models.functions import TruncHour

from .models import Event, HourlyRollup

METRICS = {
    "page_views": Count("id", filter=Q(name="page_view")),
    "visitors": Count("visitor_id", filter=~Q(visitor_id=""), distinct=True),
    "sessions": Count("session_id", filter=~Q(session_id=""), distinct=True),
    "product_views": Count("id", filter=Q(name="product_view")),
    "add_to_carts": Count("id", filter=Q(name="add_to_cart")),
    "checkouts": Count("id", filter=Q(name="begin_checkout")),
    "purchases": Count("id", filter=Q(name="purchase")),
    "revenue": Sum("value", filter=Q(name="purchase")),
    "searches": Count("id", filter=Q(name="search")),
}
DIMENSIONS = {
    "all": None,
    "page": "path",
    "product": "product_id",
    "category": "category_slug",
    "channel": "channel",
    "device": "device",
    "campaign": "utm_campaign",
}


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rollup_cells(
    *, since: datetime, until: datetime, category_of: BaseExpression | None = None
):
    """
    Yield (hour, metric, dimension, key, value) computed from raw events.

    `category_of` gives the category slug of an event's `product_id` (an
    expression over `OuterRef("product_id")`); the catalogue owns it, so
    callers pass it in. Without it the category dimension is left out.
    """
    base = Event.objects.filter(
        occurred_at__gte=since, occurred_at__lt=until, is_bot=False
    ).annotate(bucket=TruncHour("occurred_at", tzinfo=UTC))
    for dimension, column in DIMENSIONS.items():
        qs = base
        if column == "category_slug":
            if category_of is None:
                continue
            qs = qs.filter(product_id__isnull=False).annotate(category_slug=category_of)
        elif column is not None:
            qs = (
                qs.exclude(**{f"{column}__isnull": True})
                if column.endswith("_id")
                else qs.exclude(**{column: ""})
            )
        group = ["bucket"] + ([column] if column else [])
        for row in qs.values(*group).annotate(**METRICS).order_by():
            key = "" if column is None else row[column]
            if key is None:
                continue
            for metric in METRICS:
                value = row[metric]
                if value:
                    yield row["bucket"], metric, dimension, str(key)[:200], value
    bots = (
        Event.objects.filter(
            occurred_at__gte=since, occurred_at__lt=until, is_bot=True, name="page_view"
        )
        .annotate(bucket=TruncHour("occurred_at", tzinfo=UTC))
        .values("bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in bots:
        yield row["bucket"], "bot_page_views", "all", "", row["n"]


def _copy_cells(cells) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for hour, metric, dimension, key, value in cells:
        writer.writerow((hour.isoformat(), metric, dimension, key, value))
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            "COPY analytics_hourlyrollup (hour, metric, dimension, key, value) "
            "FROM STDIN WITH (FORMAT csv)",
            buffer,
        )


@transaction.atomic
def rollups_build(
    *, since: datetime, until: datetime, category_of: BaseExpression | None = None
) -> int:
    """
    Recompute every rollup cell for the whole hours in [since, until)
    (`category_of`: see `rollup_cells`).

    Idempotent: the hours are deleted and rebuilt from raw events in one
    transaction, so running it twice gives the same numbers.
    """
    since, until = (
        hour_floor(since),
        hour_floor(until - timedelta(microseconds=1)) + timedelta(hours=1),
    )
    HourlyRollup.objects.filter(hour__gte=since, hour__lt=until).delete()
    cells = list(rollup_cells(since=since, until=until, category_of=category_of))
    if connection.vendor == "postgresql":
        _copy_cells(cells)
        return len(cells)
    # One executemany: bulk_create's per-field preparation of a few hundred
    # thousand cells (half a year of demo traffic) takes a minute on SQLite.
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {HourlyRollup._meta.db_table}"
            " (hour, metric, dimension, key, value) VALUES (%s, %s, %s, %s, %s)",
            [(adapt(hour), m, d, k, str(v)) for hour, m, d, k, v in cells],
        )
    return len(cells)


def rollup_window(
    *, lookback_hours: int, now: datetime | None = None
) -> tuple[datetime, datetime] | None:
    """
    The hours an incremental run should rebuild: from the last rolled hour
    minus `lookback_hours` (to absorb late events) up to now; from the
    first event when nothing was rolled yet. None when there are no events.
    """
    now = now or datetime.now(UTC)
    until = hour_floor(now) + timedelta(hours=1)
    last = HourlyRollup.objects.order_by("-hour").values_list("hour", flat=True).first()
    if last is None:
        first = (
            Event.objects.order_by("occurred_at")
            .values_list("occurred_at", flat=True)
            .first()
        )
        if first is None:
            return None
        return hour_floor(first), until
    return min(hour_floor(last), hour_floor(now)) - timedelta(
        hours=lookback_hours
    ), until
