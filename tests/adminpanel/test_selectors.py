"""Each selector against the same figure computed in Python from raw rows."""

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from adminpanel import selectors
from adminpanel.forms import range_for_preset
from adminpanel.rollups import daily_rollups_build
from analytics.models import Event, HourlyRollup, SessionSummary
from config.days import local_date, shop_zone
from shop.models import Cart, Order, OrderLine, ProductVariant

from .conftest import build_shop
from .factories import EventFactory, SessionFactory


@pytest.fixture(scope="module")
def shop_data(django_db_setup, django_db_blocker):
    """The shop is built once for this module, inside a transaction rolled back
    at the end; each test still runs in its own savepoint."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_shop(today=local_date(timezone.now()))
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


pytestmark = pytest.mark.usefixtures("shop_data", "db")


def _placed(start, end):
    return [
        o
        for o in Order.objects.all()
        if start <= o.created_at < end and o.status != Order.Status.CANCELLED
    ]


def _sessions(start, end, *, bots=False):
    return [
        s
        for s in SessionSummary.objects.all()
        if start <= s.started_at < end and s.is_bot == bots
    ]


@pytest.fixture(params=["today", "7d", "30d"])
def rng(request, today):
    return range_for_preset(request.param, today=today)


def test_order_totals_match_raw(rng):
    orders = _placed(rng.start, rng.end)
    totals = selectors.order_totals(start=rng.start, end=rng.end)
    assert totals["orders"] == len(orders)
    assert totals["revenue"] == sum((o.total for o in orders), Decimal("0"))
    if orders:
        assert totals["aov"] == totals["revenue"] / len(orders)


def test_customer_counts_split_new_and_returning(rng):
    orders = _placed(rng.start, rng.end)
    emails = {o.email for o in orders}
    returning = {
        e
        for e in emails
        if any(o.email == e and o.created_at < rng.start for o in Order.objects.all())
    }
    counts = selectors.customer_counts(start=rng.start, end=rng.end)
    assert counts["customers"] == len(emails)
    assert counts["new"] == len(emails - returning)
    assert counts["returning"] == len(returning)
    assert counts["new_revenue"] == sum(
        (o.total for o in orders if o.email not in returning), Decimal("0")
    )


def test_sales_series_buckets_by_local_day_or_hour(rng):
    series = selectors.sales_series(
        start=rng.start, end=rng.end, granularity=rng.granularity
    )
    raw = defaultdict(Decimal)
    for order in _placed(rng.start, rng.end):
        local = timezone.localtime(order.created_at, shop_zone())
        key = (
            local.date()
            if rng.granularity == "day"
            else order.created_at.astimezone(dt.UTC).replace(
                minute=0, second=0, microsecond=0
            )
        )
        raw[key] += order.total
    assert {row["bucket"]: row["revenue"] for row in series if row["revenue"]} == dict(
        raw
    )
    expected_buckets = rng.days if rng.granularity == "day" else 24 * rng.days
    # A day when the clocks change has 23 or 25 hours.
    assert abs(len(series) - expected_buckets) <= 1


def test_orders_by_status_matches_raw(month):
    rows = {
        r["status"]: r
        for r in selectors.orders_by_status(start=month.start, end=month.end)
    }
    for code, label in Order.Status.choices:
        matching = [
            o
            for o in Order.objects.all()
            if o.status == code and month.start <= o.created_at < month.end
        ]
        assert rows[label]["orders"] == len(matching)
        assert rows[label]["value"] == sum((o.total for o in matching), Decimal("0"))


def test_cancelled_orders_are_listed(month):
    numbers = {
        r["number"]
        for r in selectors.cancelled_orders(start=month.start, end=month.end)
    }
    assert numbers == {
        o.number
        for o in Order.objects.filter(status="cancelled")
        if month.start <= o.created_at < month.end
    }


def test_category_sales_match_raw(month):
    raw = defaultdict(Decimal)
    for line in OrderLine.objects.select_related("order", "product__category"):
        if (
            month.start <= line.order.created_at < month.end
            and line.order.status != "cancelled"
        ):
            raw[line.product.category.name] += line.line_total
    rows = selectors.category_sales(start=month.start, end=month.end)
    assert {r["category"]: r["revenue"] for r in rows} == dict(raw)
    assert [r["revenue"] for r in rows] == sorted(raw.values(), reverse=True)


def test_session_totals_match_raw(rng):
    humans = _sessions(rng.start, rng.end)
    bots = _sessions(rng.start, rng.end, bots=True)
    totals = selectors.session_totals(start=rng.start, end=rng.end)
    assert totals["sessions"] == len(humans)
    assert totals["visitors"] == len({s.visitor_id for s in humans})
    assert totals["converted"] == sum(s.converted for s in humans)
    assert totals["bots"] == len(bots)
    if humans:
        assert totals["conversion_rate"] == pytest.approx(
            totals["converted"] / len(humans)
        )
        assert totals["bot_share"] == pytest.approx(
            len(bots) / (len(bots) + len(humans))
        )


def test_session_series_matches_raw(month):
    series = selectors.session_series(
        start=month.start, end=month.end, granularity="day"
    )
    raw = Counter(
        timezone.localtime(s.started_at, shop_zone()).date()
        for s in _sessions(month.start, month.end)
    )
    assert {r["bucket"]: r["sessions"] for r in series if r["sessions"]} == dict(raw)


def test_rollup_series_sums_hours_into_local_days(month):
    series = selectors.rollup_series(
        metric="page_views", start=month.start, end=month.end, granularity="day"
    )
    raw = defaultdict(Decimal)
    for cell in HourlyRollup.objects.filter(metric="page_views", dimension="all"):
        if month.start <= cell.hour < month.end:
            raw[timezone.localtime(cell.hour, shop_zone()).date()] += cell.value
    assert {r["bucket"]: r["value"] for r in series if r["value"]} == dict(raw)
    # Rollups hold human page views only: one per non-bot session here.
    assert sum(raw.values()) == len(_sessions(month.start, month.end))


def test_top_pages_match_raw(month):
    raw = defaultdict(Decimal)
    for cell in HourlyRollup.objects.filter(metric="page_views", dimension="page"):
        if month.start <= cell.hour < month.end:
            raw[cell.key] += cell.value
    rows = selectors.top_pages(start=month.start, end=month.end)
    assert {r["key"]: r["page_views"] for r in rows} == dict(raw)


def test_cart_abandonment_counts_day_old_carts_with_items(month, shop_data):
    now = timezone.now()
    carts = selectors.abandoned_carts(start=month.start, end=month.end, now=now)
    abandoned = shop_data["carts"]["abandoned"]
    assert [r["id"] for r in carts["rows"]] == [abandoned.pk]
    lines = list(abandoned.lines.select_related("variant"))
    assert carts["totals"]["items"] == sum(line.quantity for line in lines)
    assert carts["totals"]["value"] == sum(
        line.quantity * line.variant.price for line in lines
    )
    rate = selectors.cart_abandonment(start=month.start, end=month.end, now=now)
    # Orders up to a day ago: a cart changed since may still be bought.
    orders = Order.objects.filter(
        created_at__gte=month.start,
        created_at__lt=min(month.end, now - dt.timedelta(hours=24)),
    ).count()
    assert orders < Order.objects.count()
    assert rate["rate"] == pytest.approx(1 / (1 + orders))
    assert Cart.objects.count() == 3  # the fresh and the empty cart do not count


def test_product_performance_joins_rollups_and_order_lines(month, shop_data):
    rows = {
        r["product_id"]: r
        for r in selectors.product_performance(start=month.start, end=month.end)
    }
    for product in shop_data["products"]:
        views = sum(
            c.value
            for c in HourlyRollup.objects.filter(
                metric="product_views", dimension="product", key=str(product.pk)
            )
            if month.start <= c.hour < month.end
        )
        lines = [
            line
            for line in OrderLine.objects.filter(product=product).select_related(
                "order"
            )
            if month.start <= line.order.created_at < month.end
            and line.order.status != "cancelled"
        ]
        row = rows[product.pk]
        assert row["views"] == views
        assert row["orders"] == len({line.order_id for line in lines})
        assert row["revenue"] == sum((line.line_total for line in lines), Decimal("0"))
        if views:
            assert row["conversion"] == pytest.approx(row["orders"] / float(views))


def test_stock_alerts_list_low_and_sold_out_variants():
    rows = selectors.stock_alerts(threshold=5)
    expected = [
        v for v in ProductVariant.objects.all() if v.stock <= 5 and v.product.is_active
    ]
    assert {r["sku"] for r in rows} == {v.sku for v in expected}
    assert [r["stock"] for r in rows] == sorted(r["stock"] for r in rows)


def test_funnel_counts_sessions_reaching_each_step(month):
    sessions = _sessions(month.start, month.end)
    ids = {s.session_id for s in sessions}
    reached = defaultdict(set)
    for event in Event.objects.filter(is_bot=False):
        if event.session_id in ids and month.start <= event.occurred_at < month.end:
            reached[event.name].add(event.session_id)
    funnel = selectors.funnel(start=month.start, end=month.end)
    counts = [step["sessions"] for step in funnel["steps"]]
    assert counts == [
        len(ids),
        len(reached["product_view"]),
        len(reached["add_to_cart"]),
        len(reached["begin_checkout"]),
        # A cash purchase is its own payment step.
        len(reached["payment_started"] | reached["purchase"]),
        len(reached["purchase"]),
    ]
    assert reached["payment_started"] - reached["purchase"]
    assert reached["purchase"] - reached["payment_started"]
    mobile = next(g for g in funnel["by_device"] if g["key"] == "mobile")
    mobile_ids = {s.session_id for s in sessions if s.device == "mobile"}
    assert mobile["counts"][0] == len(mobile_ids)
    assert mobile["counts"][-1] == len(reached["purchase"] & mobile_ids)
    assert sum(g["counts"][0] for g in funnel["by_channel"]) == len(ids)
    step = funnel["steps"][2]
    assert step["step_conversion"] == pytest.approx(counts[2] / counts[1])
    assert step["drop_off"] == pytest.approx(1 - counts[2] / counts[1])


@pytest.mark.parametrize(
    "field", ["channel", "device", "browser", "country", "landing_path"]
)
def test_sessions_by_field_match_raw(month, field):
    sessions = _sessions(month.start, month.end)
    rows = selectors.sessions_by(field=field, start=month.start, end=month.end)
    raw = Counter(getattr(s, field) for s in sessions)
    assert {r["key"]: r["sessions"] for r in rows} == dict(raw)
    converted = Counter(getattr(s, field) for s in sessions if s.converted)
    assert {r["key"]: r["converted"] for r in rows} == {
        k: converted.get(k, 0) for k in raw
    }


def test_sessions_by_refuses_unknown_fields(month):
    with pytest.raises(ValueError, match="Cannot group"):
        selectors.sessions_by(field="visitor_id", start=month.start, end=month.end)


def _searches(month):
    return [
        e
        for e in Event.objects.filter(name="search", is_bot=False)
        if month.start <= e.occurred_at < month.end
    ]


def test_search_top_and_zero_result_queries_match_raw(month):
    searches = _searches(month)
    top = selectors.search_top_queries(start=month.start, end=month.end)
    assert {r["query"]: r["searches"] for r in top} == dict(
        Counter(e.properties["query"].lower() for e in searches)
    )
    zero = selectors.search_zero_results(start=month.start, end=month.end)
    assert {r["query"]: r["searches"] for r in zero} == dict(
        Counter(
            e.properties["query"].lower()
            for e in searches
            if e.properties["results"] == 0
        )
    )


def test_searches_that_led_to_a_purchase(month):
    """A search with results, followed by a purchase in its session."""
    purchased = {}
    for e in Event.objects.filter(name="purchase", is_bot=False):
        purchased[e.session_id] = max(
            e.occurred_at, purchased.get(e.session_id, e.occurred_at)
        )
    led = [
        e
        for e in _searches(month)
        if e.properties["results"]
        and e.occurred_at < purchased.get(e.session_id, e.occurred_at)
    ]
    assert led
    rows = selectors.search_converting_queries(start=month.start, end=month.end)
    assert {r["query"]: r["searches"] for r in rows} == dict(
        Counter(e.properties["query"].lower() for e in led)
    )
    assert {r["query"]: r["sessions"] for r in rows} == {
        query: len(
            {e.session_id for e in led if e.properties["query"].lower() == query}
        )
        for query in {e.properties["query"].lower() for e in led}
    }
    # Searches after the purchase, or that found nothing, are never credited.
    late_or_empty = [
        e for e in _searches(month) if e.session_id in purchased and e not in led
    ]
    assert late_or_empty


def _per_customer_orders():
    """Sales by customer: an email, signed in or guest (docs/dashboards.md)."""
    per = defaultdict(list)
    for order in Order.objects.placed():
        per[order.email].append(order)
    return per


def test_top_customers_match_raw():
    per = _per_customer_orders()
    assert any(not orders[0].user for orders in per.values())  # guests count
    assert per
    rows = selectors.customers_top()
    assert {r["email"]: r["spend"] for r in rows} == {
        email: sum((o.total for o in orders), Decimal("0"))
        for email, orders in per.items()
    }
    assert {r["email"]: r["orders"] for r in rows} == {
        email: len(orders) for email, orders in per.items()
    }
    assert [r["spend"] for r in rows] == sorted(
        (r["spend"] for r in rows), reverse=True
    )


def test_rfm_segments_cover_every_customer(today):
    now = timezone.now()
    per = _per_customer_orders()
    # The "Last 30 days" and "Last 90 days" presets' days.
    recent = range_for_preset("30d", today=today).start
    active = range_for_preset("90d", today=today).start
    expected = Counter()
    for orders in per.values():
        first = min(o.created_at for o in orders)
        last = max(o.created_at for o in orders)
        n = len(orders)
        if first >= recent:
            expected["New"] += 1
        elif last >= recent and n >= 3:
            expected["Champions"] += 1
        elif last >= active and n >= 3:
            expected["Loyal"] += 1
        elif last >= active:
            expected["Promising"] += 1
        elif n >= 2:
            expected["At risk"] += 1
        else:
            expected["Lost"] += 1
    rows = selectors.customers_rfm(now=now)
    assert {r["segment"]: r["customers"] for r in rows if r["customers"]} == dict(
        expected
    )
    month = range_for_preset("30d", today=today)
    assert expected["New"] == selectors.new_customers(start=month.start, end=month.end)
    assert sum(r["spend"] for r in rows) == sum(
        (o.total for os in per.values() for o in os), Decimal("0")
    )


def test_customer_pages_say_when_statistics_are_missing():
    from adminpanel.models import CustomerStats

    CustomerStats.objects.all().delete()
    assert selectors.customers_top() == []
    assert selectors.customer_stats_refreshed_at() is None
    assert all(r["customers"] == 0 for r in selectors.customers_rfm(now=timezone.now()))


def test_realtime_snapshot_counts_recent_humans(db):
    # Two days ahead: clear of the module's shop, whose events of today could
    # otherwise fall in the window, depending on the time of day.
    now = timezone.now() + dt.timedelta(days=2)
    EventFactory(visitor_id="a", path="/x/", occurred_at=now - dt.timedelta(minutes=1))
    EventFactory(visitor_id="a", path="/y/", occurred_at=now - dt.timedelta(seconds=30))
    EventFactory(visitor_id="b", path="/x/", occurred_at=now - dt.timedelta(minutes=4))
    EventFactory(visitor_id="c", path="/z/", occurred_at=now - dt.timedelta(minutes=6))
    snap = selectors.realtime_snapshot(now=now)
    assert snap["active_visitors"] == 2
    # Each visitor counts on their latest page only.
    assert {r["path"]: r["visitors"] for r in snap["pages"]} == {"/x/": 1, "/y/": 1}
    assert len(snap["events"]) == 20
    assert snap["events"][0]["occurred_at"] >= snap["events"][-1]["occurred_at"]


def test_table_stats_match_raw_counts():
    stats = {s["table"]: s for s in selectors.table_stats()}
    assert stats["shop_order"]["rows"] == Order.objects.count()
    assert stats["analytics_event"]["rows"] == Event.objects.count()
    assert stats["analytics_session"]["rows"] == SessionSummary.objects.count()


def test_single_day_range_with_one_session(db, today):
    SessionFactory.reset_sequence(10_000)
    day = range_for_preset("today", today=today)
    SessionSummary.objects.all().delete()
    SessionFactory(started_at=day.start + dt.timedelta(hours=1))
    daily_rollups_build(first=day.first, last=day.last)
    assert selectors.session_totals(start=day.start, end=day.end)["sessions"] == 1
    series = selectors.session_series(start=day.start, end=day.end, granularity="hour")
    assert sum(r["sessions"] for r in series) == 1
    assert series[1]["sessions"] == 1


def test_realtime_current_pages_equal_a_raw_computation(db):
    import random

    now = timezone.now() + dt.timedelta(days=3)
    rng = random.Random(7)
    for _ in range(300):
        EventFactory(
            visitor_id=f"v{rng.randrange(40)}",
            path=f"/p{rng.randrange(8)}/",
            name=rng.choice(["page_view", "page_view", "click"]),
            is_bot=rng.random() < 0.1,
            occurred_at=now - dt.timedelta(seconds=rng.randrange(420)),
        )
    since = now - dt.timedelta(minutes=5)
    latest = {}
    for e in Event.objects.filter(
        name="page_view", is_bot=False, occurred_at__gte=since, occurred_at__lte=now
    ).order_by("occurred_at", "id"):
        latest[e.visitor_id] = e.path
    expected = {}
    for path in latest.values():
        expected[path] = expected.get(path, 0) + 1
    snap = selectors.realtime_snapshot(now=now)
    assert {r["path"]: r["visitors"] for r in snap["pages"]} == expected
    assert sum(expected.values()) > 10
