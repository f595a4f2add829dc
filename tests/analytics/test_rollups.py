import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from analytics.demo import DemoStep, DemoVisit, clickstream_generate
from analytics.models import Event, HourlyRollup, SessionSummary
from analytics.rollups import hour_floor, rollups_build
from analytics.sessions import sessions_build
from analytics.tracking import SessionState, session_continues
from config.days import shop_zone

pytestmark = pytest.mark.django_db


def demo_visits(product, variant, *, visits: int = 300) -> list[DemoVisit]:
    """
    Two days of visits to `product`, as the shop's demo hands them over: every
    25th buys it, every 16th is a bot.
    """
    rng = random.Random(3)
    now, path = datetime.now(UTC) - timedelta(hours=2), f"/p/{product.slug}/"
    made = []
    for number in range(1, visits + 1):
        at = now - timedelta(minutes=rng.randrange(2 * 24 * 60 - 60))
        if at.astimezone(shop_zone()).hour == 23:  # visits end by midnight
            at -= timedelta(hours=1)
        steps = [
            DemoStep(at, "page", "/"),
            DemoStep(at + timedelta(seconds=20), "product", path, product.pk),
        ]
        if number % 25 == 0:
            total = variant.price
            steps += [
                DemoStep(
                    at + timedelta(seconds=40),
                    "add",
                    "/cart/add/",
                    product.pk,
                    variant.pk,
                    value=total,
                    quantity=1,
                ),
                DemoStep(at + timedelta(seconds=60), "page", "/cart/"),
                DemoStep(
                    at + timedelta(seconds=80), "checkout", "/checkout/", value=total
                ),
                DemoStep(
                    at + timedelta(seconds=99),
                    "purchase",
                    "/checkout/",
                    order_id=number,
                    value=total,
                    quantity=1,
                ),
            ]
        made.append(DemoVisit(number, number % 60, None, number % 16 == 0, steps))
    return made


def demo_generate(product, variant) -> int:
    """Two days of demo events for `product`, with sessions and rollups."""
    made = clickstream_generate(visits=demo_visits(product, variant), seed=7)
    since, until = datetime.now(UTC) - timedelta(days=3), datetime.now(UTC)
    sessions_build(since=since, until=until + timedelta(hours=1))
    rollups_build(since=since, until=until + timedelta(hours=1))
    return made


@pytest.fixture
def demo(product, variant):
    return demo_generate(product, variant)


def raw_counts():
    """The same numbers, counted in Python straight from raw events."""
    names = {
        "page_view": "page_views",
        "product_view": "product_views",
        "add_to_cart": "add_to_carts",
        "begin_checkout": "checkouts",
        "purchase": "purchases",
        "search": "searches",
    }
    out = defaultdict(Decimal)
    distinct = defaultdict(set)
    for e in Event.objects.filter(is_bot=False):
        hour = hour_floor(e.occurred_at)
        keys = {"all": "", "channel": e.channel, "device": e.device, "page": e.path}
        if e.product_id:
            keys["product"] = str(e.product_id)
        if e.utm_campaign:
            keys["campaign"] = e.utm_campaign
        for dim, key in keys.items():
            if dim != "all" and not key:
                continue
            if e.name in names:
                out[(hour, names[e.name], dim, key)] += 1
            if e.name == "purchase" and e.value:
                out[(hour, "revenue", dim, key)] += e.value
            distinct[(hour, "visitors", dim, key)].add(e.visitor_id)
            distinct[(hour, "sessions", dim, key)].add(e.session_id)
    for cell, members in distinct.items():
        out[cell] = Decimal(len(members))
    return {k: v for k, v in out.items() if v}


def test_every_rollup_equals_the_count_from_raw_events(demo):
    rolled = {
        (r.hour, r.metric, r.dimension, r.key): r.value
        for r in HourlyRollup.objects.exclude(dimension="category").exclude(
            metric="bot_page_views"
        )
    }
    assert rolled == raw_counts()
    bots = Event.objects.filter(is_bot=True, name="page_view").count()
    assert (
        sum(
            HourlyRollup.objects.filter(metric="bot_page_views").values_list(
                "value", flat=True
            )
        )
        == bots
        > 0
    )


def test_demo_is_idempotent_and_tells_a_story(demo, product, variant):
    first = Event.objects.count()
    assert demo_generate(product, variant) == demo
    assert Event.objects.count() == first
    human = SessionSummary.objects.filter(is_bot=False)
    assert set(human.values_list("channel", flat=True)) >= {
        "direct",
        "organic",
        "paid",
        "email",
    }
    assert 0.005 < human.filter(converted=True).count() / human.count() < 0.1
    assert SessionSummary.objects.filter(is_bot=True).exists()
    assert (
        Event.objects.filter(
            client_time__lt=datetime.now(UTC) - timedelta(days=3)
        ).count()
        == 0
    )
    converted = human.filter(converted=True).first()
    assert converted.revenue > 0 and converted.landing_path and converted.exit_path


def test_session_summary_matches_its_events(demo):
    summary = SessionSummary.objects.filter(is_bot=False, page_views__gt=2).first()
    events = list(
        Event.objects.filter(session_id=summary.session_id).order_by("occurred_at")
    )
    assert summary.started_at == events[0].occurred_at
    assert summary.ended_at == events[-1].occurred_at
    assert summary.page_views == sum(e.name == "page_view" for e in events)
    assert summary.events == len(events)
    assert summary.landing_path == events[0].path


@pytest.mark.parametrize(
    ("last", "now", "campaign", "continues"),
    [
        ("2026-03-02 10:00", "2026-03-02 10:29", "", True),
        ("2026-03-02 10:00", "2026-03-02 10:31", "", False),  # 30 minutes idle
        ("2026-03-02 23:50", "2026-03-03 00:05", "", False),  # local midnight
        ("2026-03-02 10:00", "2026-03-02 10:05", "spring", True),  # same campaign
        ("2026-03-02 10:00", "2026-03-02 10:05", "summer", False),  # new campaign
        # Summer time: London's midnight is 23:00 UTC.
        ("2026-07-02 22:50", "2026-07-02 23:05", "", False),
        ("2026-07-02 23:05", "2026-07-02 23:20", "", True),
        ("2026-07-02 22:30", "2026-07-02 22:59", "", True),
        ("2026-03-02 10:10", "2026-03-02 10:05", "", True),  # clock skew up to 5 min
        ("2026-03-02 10:10", "2026-03-02 10:04:59", "", False),  # too early
    ],
)
def test_session_boundaries(settings, last, now, campaign, continues):
    settings.TIME_ZONE = "Europe/London"
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    state = SessionState(
        session_id="s",
        last_seen=int(datetime.fromisoformat(last).replace(tzinfo=UTC).timestamp()),
        campaign="spring",
    )
    assert session_continues(state=state, now=at, campaign=campaign) is continues


def test_session_state_survives_its_cookie():
    state = SessionState(
        session_id="Ab_-09",
        last_seen=1_780_000_000,
        channel="social",
        source="news letter&co=1",
        medium="e%mail+x",
        campaign="été 50%",
        referrer="https://example.com/?q=a&b=c#top",
    )
    assert SessionState.load(state.dump()) == state
    assert SessionState.load("s=x&t=not-a-number") is None
    assert SessionState.load("t=1") is None


def test_prune_refuses_unarchived_days_then_deletes_in_batches(
    aws, settings, bucket_name=None
):
    settings.ANALYTICS_S3_BUCKET = "prune-test"
    aws("s3").create_bucket(
        Bucket="prune-test",
        CreateBucketConfiguration={"LocationConstraint": "eu-west-2"},
    )
    old = datetime.now(UTC) - timedelta(days=100)
    for i in range(5):
        Event.objects.create(name="page_view", occurred_at=old + timedelta(minutes=i))
    Event.objects.create(name="page_view")
    with pytest.raises(CommandError, match="not archived"):
        call_command("analytics_prune", older_than="90d", verbosity=0)
    assert Event.objects.count() == 6
    with pytest.raises(CommandError, match="must look like 90d"):
        call_command("analytics_prune", older_than="ninety")
    call_command(
        "analytics_prune", older_than="90d", archive=True, batch_size=2, verbosity=0
    )
    assert Event.objects.count() == 1
    keys = aws("s3").list_objects_v2(Bucket="prune-test")["Contents"]
    assert keys and keys[0]["Key"].startswith(f"clickstream/dt={old:%Y-%m-%d}/")


@pytest.mark.parametrize(
    "raw",
    [
        "ch=paid&t=1780000000&s=abc",  # another order, keys missing
        "s=abc&t=1780000000&ch=paid&src=&med=&cmp=&ref=&extra=1",
    ],
)
def test_session_cookie_in_another_shape_is_still_read(raw):
    state = SessionState.load(raw)
    assert (state.session_id, state.last_seen, state.channel) == (
        "abc",
        1_780_000_000,
        "paid",
    )
    assert state.source == state.campaign == ""


@pytest.mark.parametrize(
    "raw",
    [
        "s=abc&t=\u00b2&ch=direct&src=&med=&cmp=&ref=",  # a digit to isdigit()
        "s=abc&t=%C2%B2&ch=direct&src=&med=&cmp=&ref=",
        "s=abc&t=" + "9" * 5000,
        "s=&t=1780000000&ch=direct&src=&med=&cmp=&ref=",
    ],
)
def test_a_garbled_session_cookie_is_no_session(raw):
    assert SessionState.load(raw) is None
