"""The rollup pipeline's one entry point: the job, the command and the seed."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from adminpanel.cache import analytics_version
from adminpanel.jobs import analytics_rollup_task
from adminpanel.models import DailySessionRollup, RollupMark
from adminpanel.pipeline import analytics_rollup_run, analytics_rollup_window
from analytics.models import Event, HourlyRollup
from analytics.rollups import hour_floor
from tests.analytics.test_rollups import demo_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(product, variant):
    made = demo_generate(product, variant)
    analytics_rollup_run(since=datetime.now(UTC) - timedelta(days=3))
    return made


def test_rollup_command_is_idempotent_and_absorbs_late_events(demo):
    before = sorted(
        HourlyRollup.objects.values_list("hour", "metric", "dimension", "key", "value")
    )
    call_command("analytics_rollup", since="2000-01-01", verbosity=0)
    after = sorted(
        HourlyRollup.objects.values_list("hour", "metric", "dimension", "key", "value")
    )
    assert before == after
    late = Event.objects.filter(name="page_view", is_bot=False).latest("occurred_at")
    late.pk, late.event_id = None, __import__("uuid").uuid4()
    late.save()
    call_command("analytics_rollup", verbosity=0)
    cell = HourlyRollup.objects.get(
        hour=hour_floor(late.occurred_at), metric="page_views", dimension="all"
    )
    assert (
        cell.value
        == Event.objects.filter(
            name="page_view",
            is_bot=False,
            occurred_at__gte=hour_floor(late.occurred_at),
            occurred_at__lt=hour_floor(late.occurred_at) + timedelta(hours=1),
        ).count()
    )


def test_rollup_command_rejects_bad_dates():
    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("analytics_rollup", since="yesterday")


def test_rollup_command_also_refreshes_the_dashboards_daily_rollups(demo):
    RollupMark.objects.all().delete()
    DailySessionRollup.objects.all().delete()
    version = analytics_version()
    call_command("analytics_rollup", since="2000-01-01", verbosity=0)
    assert RollupMark.objects.exists()
    assert DailySessionRollup.objects.exists()
    assert analytics_version() != version  # cached panels moved on


def test_the_category_dimension_counts_the_products_events(demo, product):
    views = Event.objects.filter(
        name="product_view", product_id=product.pk, is_bot=False
    ).count()
    cells = HourlyRollup.objects.filter(
        metric="product_views", dimension="category", key=product.category.slug
    )
    assert views > 0
    assert sum(cell.value for cell in cells) == views


def test_the_job_and_the_command_read_the_lookback_setting_alike(demo, settings):
    settings.ANALYTICS_ROLLUP_LOOKBACK_HOURS = 5
    last = HourlyRollup.objects.order_by("-hour").values_list("hour", flat=True)[0]
    since, _ = analytics_rollup_window()
    assert since == min(last, hour_floor(datetime.now(UTC))) - timedelta(hours=5)
    counts = analytics_rollup_task()
    assert counts["cells"] == HourlyRollup.objects.filter(hour__gte=since).count()


def test_the_command_dry_run_writes_nothing(demo):
    RollupMark.objects.all().delete()
    call_command("analytics_rollup", since="2000-01-01", dry_run=True, verbosity=0)
    assert not RollupMark.objects.exists()


def test_the_command_refuses_until_without_since():
    with pytest.raises(CommandError, match="--until needs --since"):
        call_command("analytics_rollup", until="2030-01-01")
