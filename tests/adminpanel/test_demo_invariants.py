"""
The dashboards agree with themselves on the demo store (docs/dashboards.md):
each number's invariants, computed on a small `seed_demo`.
"""

import datetime as dt
from collections import defaultdict
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import Resolver404, resolve
from django.utils import timezone

from adminpanel import panels, selectors
from adminpanel.forms import DateRange, range_for_preset
from adminpanel.models import CustomerStats
from analytics.models import Event
from config.days import local_date
from shop.models import Order, OrderLine

PRESETS = ["today", "yesterday", "7d", "30d", "90d"]
ALL = 10_000  # a limit above any table's length


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo store, seeded once for the module in a transaction rolled
    back at the end; each test runs in its own savepoint. Its pictures go
    to a temporary media root."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    with django_db_blocker.unblock(), media:
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command(
                "seed_demo",
                "--products=40",
                "--orders=120",
                "--events=20000",
                verbosity=0,
            )
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


pytestmark = pytest.mark.usefixtures("demo", "db")


@pytest.fixture(params=PRESETS)
def preset(request):
    return range_for_preset(request.param)


def test_every_preset_has_a_recorded_previous_period_with_data():
    for name in PRESETS:
        previous = range_for_preset(name).previous()
        assert selectors.history_covers(first=previous.first) == {
            "sessions": True,
            "orders": True,
        }, name
    previous = range_for_preset("90d").previous()
    kpis = selectors.kpi_summary(
        start=previous.start, end=previous.end, now=timezone.now()
    )
    assert kpis["sessions"] > 0 and kpis["orders"] > 0


def test_cards_compare_only_with_a_recorded_previous_period():
    now = timezone.now()
    cards = panels.overview_panel(rng=range_for_preset("90d"), now=now)["cards"]
    assert all(card["previous"] is not None for card in cards)
    today = local_date(now)
    # Half a year back: the period before it was never recorded.
    early = DateRange(
        first=today - dt.timedelta(days=190), last=today - dt.timedelta(days=100)
    )
    cards = panels.overview_panel(rng=early, now=now)["cards"]
    assert [card["previous"] for card in cards] == [None] * len(cards)


def test_every_product_was_added_to_carts_at_least_as_often_as_ordered(preset):
    rows = selectors.product_performance(start=preset.start, end=preset.end, limit=0)
    for row in rows:
        assert row["views"] >= row["add_to_carts"] >= row["orders"], row


def test_funnel_steps_never_grow(preset):
    steps = selectors.funnel(start=preset.start, end=preset.end)["steps"]
    counts = [step["sessions"] for step in steps]
    assert counts == sorted(counts, reverse=True)


def test_abandonment_is_above_zero_when_carts_outnumber_orders():
    now = timezone.now()
    for name in ["7d", "30d", "90d"]:
        rng = range_for_preset(name)
        steps = {
            step["step"]: step["sessions"]
            for step in selectors.funnel(start=rng.start, end=rng.end)["steps"]
        }
        assert steps["add_to_cart"] > steps["purchase"], name
        kpis = selectors.kpi_summary(start=rng.start, end=rng.end, now=now)
        assert 0 < kpis["cart_abandonment_rate"] < 1, name
        carts = selectors.abandoned_carts(start=rng.start, end=rng.end, now=now)
        assert carts["totals"]["value"] > 0, name


def test_new_customer_segment_is_the_thirty_day_kpi():
    now = timezone.now()
    segments = {r["segment"]: r for r in selectors.customers_rfm(now=now)}
    month = range_for_preset("30d")
    assert segments["New"]["customers"] == selectors.new_customers(
        start=month.start, end=month.end
    )
    week = range_for_preset("7d")
    assert (
        selectors.new_customers(start=week.start, end=week.end)
        <= (segments["New"]["customers"])
    )
    customers = Order.objects.placed().values("email").distinct().count()
    assert sum(r["customers"] for r in segments.values()) == customers
    assert CustomerStats.objects.count() == customers


def test_customer_cards_split_the_customers(preset):
    counts = selectors.customer_counts(start=preset.start, end=preset.end)
    assert counts["new"] + counts["returning"] == counts["customers"]
    assert counts["new"] == selectors.new_customers(start=preset.start, end=preset.end)


def test_each_order_was_bought_in_a_visit_that_viewed_and_added_its_products():
    events = defaultdict(list)
    for e in Event.objects.filter(is_bot=False).order_by("occurred_at", "id"):
        events[e.session_id].append(e)
    purchases = {
        e.order_id: session
        for session, rows in events.items()
        for e in rows
        if e.name == "purchase"
    }
    assert set(purchases) == set(Order.objects.values_list("pk", flat=True))
    for line in OrderLine.objects.all():
        rows = events[purchases[line.order_id]]
        names = [e.name for e in rows if e.product_id == line.product_id]
        assert names.index("product_view") < names.index("add_to_cart"), line
        bought = next(e for e in rows if e.name == "purchase")
        assert bought.occurred_at == line.order.created_at


def test_every_dashboard_path_is_a_route_of_the_site():
    paths = set(Event.objects.values_list("path", flat=True).distinct())
    month = range_for_preset("90d")
    paths |= {
        row["key"] for row in selectors.top_pages(start=month.start, end=month.end)
    }
    paths |= {
        row["key"]
        for row in selectors.sessions_by(
            field="landing_path", start=month.start, end=month.end, limit=ALL
        )
    }
    for path in paths:
        try:
            resolve(urlsplit(path).path)
        except Resolver404:
            pytest.fail(f"{path} is not a route of the site")
    assert any(path.startswith("/search/?q=") for path in paths)


def test_the_search_page_reads_the_demos_searches():
    month = range_for_preset("90d")
    searches = Event.objects.filter(name="search", is_bot=False)
    top = selectors.search_top_queries(start=month.start, end=month.end, limit=ALL)
    assert sum(r["searches"] for r in top) == sum(
        1 for e in searches if month.start <= e.occurred_at < month.end
    )
    zero = selectors.search_zero_results(start=month.start, end=month.end)
    assert {r["query"] for r in zero} == {
        e.properties["query"]
        for e in searches
        if e.properties["results"] == 0 and month.start <= e.occurred_at < month.end
    }


def test_searches_that_led_to_a_purchase_had_results_and_came_first():
    month = range_for_preset("90d")
    last_purchase = {}
    for e in Event.objects.filter(name="purchase", is_bot=False):
        last_purchase[e.session_id] = max(
            e.occurred_at, last_purchase.get(e.session_id, e.occurred_at)
        )
    led = defaultdict(set)
    for e in Event.objects.filter(name="search", is_bot=False):
        if not month.start <= e.occurred_at < month.end:
            continue
        bought = last_purchase.get(e.session_id)
        if e.properties["results"] and bought and e.occurred_at < bought:
            led[e.properties["query"]].add(e.session_id)
    rows = selectors.search_converting_queries(
        start=month.start, end=month.end, limit=ALL
    )
    assert {r["query"]: r["sessions"] for r in rows} == {
        query: len(sessions) for query, sessions in led.items()
    }
    zero = {
        r["query"]
        for r in selectors.search_zero_results(start=month.start, end=month.end)
    }
    assert zero and not zero & {r["query"] for r in rows}


def test_the_demo_shopper_has_past_orders():
    assert Order.objects.filter(email="shopper@example.com").count() >= 1
