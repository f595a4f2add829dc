"""The daily rollups against raw sessions, events and orders, and reruns."""

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from django.forms.models import model_to_dict
from django.utils import timezone

from adminpanel.models import (
    DailyOrderRollup,
    DailyProductRollup,
    DailySearchRollup,
    DailySessionRollup,
    DailyVisitorCount,
    RollupMark,
)
from adminpanel.rollups import daily_rollups_build, daily_rollups_refresh
from analytics.models import Event, SessionSummary
from config.days import shop_zone
from shop.models import Order, OrderLine


def _day(moment):
    return timezone.localtime(moment, shop_zone()).date()


def _snapshot():
    return {
        model.__name__: sorted(
            tuple(
                sorted((k, str(v)) for k, v in model_to_dict(row).items() if k != "id")
            )
            for row in model.objects.all()
        )
        for model in (
            DailySessionRollup,
            DailySearchRollup,
            DailyOrderRollup,
            DailyProductRollup,
            DailyVisitorCount,
        )
    }


def test_daily_sessions_equal_raw_counts(shop_data):
    humans = [s for s in SessionSummary.objects.all() if not s.is_bot]
    steps = {
        name: {e.session_id for e in Event.objects.filter(name=name, is_bot=False)}
        for name in ("product_view", "payment_started", "purchase")
    }
    cells = {(c.day, c.dimension, c.key): c for c in DailySessionRollup.objects.all()}
    per_day = Counter(_day(s.started_at) for s in humans)
    for day, n in per_day.items():
        cell = cells[(day, "all", "")]
        assert cell.sessions == n
        day_sessions = [s for s in humans if _day(s.started_at) == day]
        assert cell.visitors == len({s.visitor_id for s in day_sessions})
        assert cell.converted_sessions == sum(s.converted for s in day_sessions)
        assert cell.sessions_with_product_view == sum(
            s.session_id in steps["product_view"] for s in day_sessions
        )
        assert cell.sessions_with_purchase == sum(
            s.session_id in steps["purchase"] for s in day_sessions
        )
        assert cell.sessions_with_payment == sum(
            s.session_id in steps["payment_started"] | steps["purchase"]
            for s in day_sessions
        )
    by_channel = Counter((_day(s.started_at), s.channel) for s in humans)
    assert {
        (d, k): c.sessions for (d, dim, k), c in cells.items() if dim == "channel"
    } == dict(by_channel)
    bots = Counter(
        _day(s.started_at) for s in SessionSummary.objects.filter(is_bot=True)
    )
    assert {
        d: c.bot_sessions
        for (d, dim, _), c in cells.items()
        if dim == "all" and c.bot_sessions
    } == dict(bots)


def test_distinct_visitors_over_any_range_equal_raw(shop_data):
    humans = [s for s in SessionSummary.objects.all() if not s.is_bot]
    days = sorted({_day(s.started_at) for s in humans})
    for first in days[:: max(1, len(days) // 4)]:
        last = first + dt.timedelta(days=6)
        raw = {s.visitor_id for s in humans if first <= _day(s.started_at) <= last}
        summed = sum(
            c.visitors
            for c in DailyVisitorCount.objects.filter(day__gte=first, day__lte=last)
            if c.previous_day is None or c.previous_day < first
        )
        assert summed == len(raw)


def test_daily_orders_equal_raw_counts(shop_data):
    orders = list(Order.objects.all())
    by_status = Counter((_day(o.created_at), o.status) for o in orders)
    rolled = Counter()
    for cell in DailyOrderRollup.objects.all():
        rolled[(cell.day, cell.status)] += cell.orders
    assert rolled == by_status
    placed = [o for o in orders if o.status not in Order.NOT_SALES]
    assert sum(c.new_customers for c in DailyOrderRollup.objects.all()) == len(
        {o.email for o in placed}
    )


def _raw_product_sales() -> dict:
    cells = defaultdict(lambda: {"units": 0, "revenue": Decimal("0"), "orders": set()})
    for line in OrderLine.objects.select_related("order"):
        if line.product_id is None or line.order.status in Order.NOT_SALES:
            continue
        cell = cells[(_day(line.order.created_at), line.product_id)]
        cell["units"] += line.quantity
        cell["revenue"] += line.line_total
        cell["orders"].add(line.order_id)
    return {
        key: (c["units"], c["revenue"], len(c["orders"])) for key, c in cells.items()
    }


def _rolled_product_sales() -> dict:
    return {
        (c.day, c.product_id): (c.units, c.revenue, c.orders)
        for c in DailyProductRollup.objects.all()
        if c.units or c.orders
    }


def test_daily_product_views_and_adds_equal_raw_events(shop_data):
    raw = Counter()
    for event in Event.objects.filter(
        is_bot=False, name__in=["product_view", "add_to_cart"], product_id__isnull=False
    ):
        raw[(_day(event.occurred_at), event.product_id, event.name)] += 1
    rolled = Counter()
    for cell in DailyProductRollup.objects.all():
        if cell.views:
            rolled[(cell.day, cell.product_id, "product_view")] = cell.views
        if cell.add_to_carts:
            rolled[(cell.day, cell.product_id, "add_to_cart")] = cell.add_to_carts
    assert raw and rolled == raw


def test_daily_product_sales_equal_raw_order_lines(shop_data):
    raw = _raw_product_sales()
    assert raw and any(
        o.status == Order.Status.CANCELLED for o in Order.objects.all()
    )  # the shop has cancelled orders to leave out
    assert _rolled_product_sales() == raw


def test_card_orders_not_paid_are_neither_sales_nor_a_customers_first(db, today):
    from tests.factories import OrderFactory, OrderLineFactory, ProductFactory

    product = ProductFactory()
    noon = dt.datetime.combine(today, dt.time(12), tzinfo=shop_zone())
    for hours, status in enumerate(
        [Order.Status.UNPAID, Order.Status.AWAITING_PAYMENT, Order.Status.PAID]
    ):
        order = OrderFactory(
            email="card@example.com",
            payment_method="stripe",
            status=status,
            created_at=noon + dt.timedelta(hours=hours),
        )
        OrderLineFactory(order=order, product=product, quantity=1)

    daily_rollups_build(first=today, last=today)

    [sold] = DailyProductRollup.objects.filter(product_id=product.pk)
    assert (sold.units, sold.orders) == (1, 1)
    paid = DailyOrderRollup.objects.get(status=Order.Status.PAID)
    assert (paid.new_customers, paid.cohort_day) == (1, today)
    assert not DailyOrderRollup.objects.exclude(status=Order.Status.PAID).filter(
        new_customers__gt=0
    )


def test_refresh_rerolls_product_sales_of_a_cancelled_order(shop_data):
    daily_rollups_refresh()
    line = (
        OrderLine.objects.select_related("order")
        .filter(order__created_at__lt=timezone.now() - dt.timedelta(days=10))
        .exclude(order__status=Order.Status.CANCELLED)
        .first()
    )
    key = (_day(line.order.created_at), line.product_id)
    before = _rolled_product_sales()[key]
    line.order.status = Order.Status.CANCELLED
    line.order.save()
    daily_rollups_refresh()
    after = _rolled_product_sales()
    assert after == _raw_product_sales()
    assert after.get(key, (0, Decimal("0"), 0))[0] == before[0] - line.quantity


def test_rebuilding_is_idempotent(shop_data, today):
    before = _snapshot()
    assert before["DailySessionRollup"] and before["DailyOrderRollup"]
    assert before["DailyProductRollup"]
    daily_rollups_build(first=today - dt.timedelta(days=120), last=today)
    assert _snapshot() == before
    daily_rollups_build(first=today - dt.timedelta(days=3), last=today)
    assert _snapshot() == before
    first = daily_rollups_refresh()
    assert RollupMark.objects.count() == 1
    second = daily_rollups_refresh()
    assert _snapshot() == before
    assert second["sessions_from"] >= first["sessions_from"]


def test_refresh_rerolls_the_day_of_an_old_order_that_changed(shop_data, today):
    daily_rollups_refresh()
    old = (
        Order.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=10))
        .exclude(status="cancelled")
        .first()
    )
    old.status = Order.Status.CANCELLED
    old.save()
    result = daily_rollups_refresh()
    assert result["orders_from"] <= _day(old.created_at)
    cancelled = sum(
        c.orders
        for c in DailyOrderRollup.objects.filter(
            day=_day(old.created_at), status="cancelled"
        )
    )
    assert (
        cancelled
        == Order.objects.filter(status="cancelled")
        .filter(
            pk__in=[
                o.pk
                for o in Order.objects.all()
                if _day(o.created_at) == _day(old.created_at)
            ]
        )
        .count()
    )
