import datetime as dt

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from adminpanel.jobs import analytics_rollup_task
from adminpanel.rollups import daily_rollups_refresh
from tests.aws_local import moto_running

from .conftest import build_shop
from .factories import EventFactory, RollupFactory

RANGE_PAGES = [
    "overview",
    "sales",
    "products",
    "funnel",
    "traffic",
    "search",
    "customers",
]
PAGES = [*RANGE_PAGES, "realtime", "data"]
URLS = [reverse(f"adminpanel:{page}") for page in PAGES] + [
    reverse("adminpanel:realtime_partial")
]
# The most queries a dashboard may make on a cold cache, whatever the data.
MAX_QUERIES = 30


@pytest.mark.parametrize("url", URLS)
def test_anonymous_visitor_is_sent_to_sign_in(client, db, url):
    response = client.get(url + "?range=7d")
    assert response.status_code == 302
    login = reverse(settings.LOGIN_URL)
    assert response["Location"].startswith(login + "?next=")
    assert response["Location"] == f"{login}?next={url}%3Frange%3D7d"


@pytest.mark.parametrize("url", URLS)
def test_non_staff_is_refused_the_dashboard(shopper_client, url):
    assert shopper_client.get(url).status_code == 403


@pytest.mark.parametrize("url", URLS)
def test_staff_sees_every_page_of_an_empty_shop(staff_client, url):
    response = staff_client.get(url)
    assert response.status_code == 200
    if url.endswith("live/"):
        return
    body = response.content.decode()
    assert "<svg" in body or "/data/" in url or "/realtime/" in url
    assert "Traceback" not in body


def test_every_preset_renders_with_data(staff_client, shop_data):
    for preset in ["today", "yesterday", "7d", "30d", "90d"]:
        for page in RANGE_PAGES:
            response = staff_client.get(
                reverse(f"adminpanel:{page}"), {"range": preset}
            )
            assert response.status_code == 200, (page, preset)
            assert b'class="chart' in response.content, (page, preset)


def test_overview_shows_kpis_with_deltas(staff_client, shop_data):
    response = staff_client.get(reverse("adminpanel:overview"), {"range": "7d"})
    body = response.content.decode()
    for label in [
        "Revenue",
        "Orders",
        "Average order value",
        "Conversion rate",
        "Sessions",
        "Visitors",
        "New customers",
        "Cart abandonment",
        "Bot share",
    ]:
        assert label in body
    assert 'class="delta' in body
    assert "<polyline" in body


def test_custom_range_is_used(staff_client, shop_data, today):
    first = today - dt.timedelta(days=3)
    response = staff_client.get(
        reverse("adminpanel:sales"),
        {"range": "custom", "start": first.isoformat(), "end": today.isoformat()},
    )
    assert response.status_code == 200
    assert response.context["rng"].days == 4
    assert response.context["previous"].last == first - dt.timedelta(days=1)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"range": "custom"}, "needs a start and an end"),
        (
            {"range": "custom", "start": "2025-02-10", "end": "2025-02-01"},
            "on or before",
        ),
        ({"range": "custom", "start": "2020-01-01", "end": "2025-01-01"}, "at most"),
        ({"range": "custom", "start": "yesterday", "end": "2025-01-01"}, "valid date"),
        ({"range": "decade"}, "valid choice"),
    ],
)
def test_bad_range_gets_a_400_that_says_why(staff_client, params, message):
    response = staff_client.get(reverse("adminpanel:overview"), params)
    assert response.status_code == 400
    assert message in response.content.decode()


def _count_queries(client, url, params):
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_per_page_is_constant(
    staff_client, today, django_assert_max_num_queries
):
    urls = [reverse(f"adminpanel:{page}") for page in PAGES]
    params = {"range": "30d"}
    # Once per session, not per page: the header cookie's first writing.
    staff_client.get(urls[0], params)
    empty = [_count_queries(staff_client, url, params) for url in urls]
    build_shop(today=today, scale=1)
    small = [_count_queries(staff_client, url, params) for url in urls]
    build_shop(today=today, scale=3)
    for url in urls:
        cache.clear()
        with django_assert_max_num_queries(MAX_QUERIES):
            staff_client.get(url, params)
    large = [_count_queries(staff_client, url, params) for url in urls]
    assert small == large
    # An empty id list short-circuits a lookup (no query), hence <= there.
    assert all(e <= s for e, s in zip(empty, small, strict=True))


def test_panels_are_cached_by_range_until_rollups_advance(staff_client, shop_data):
    url = reverse("adminpanel:overview")
    cold = _count_queries(staff_client, url, {"range": "7d"})
    with CaptureQueriesContext(connection) as warm:
        staff_client.get(url, {"range": "7d"})
    # Warm: the session, the user and the rollup watermark only.
    assert len(warm.captured_queries) < cold
    before = staff_client.get(url, {"range": "7d"}).context["data"]["cards"][0]["value"]

    # A new order is not seen while the panel is cached...
    from tests.factories import OrderFactory

    OrderFactory(total=1000, created_at=timezone.now() - dt.timedelta(minutes=1))
    cached = staff_client.get(url, {"range": "7d"}).context["data"]["cards"][0]["value"]
    assert cached == before
    # ...nor once the daily rollups hold it, while the panel stays cached...
    daily_rollups_refresh()
    cached = staff_client.get(url, {"range": "7d"}).context["data"]["cards"][0]["value"]
    assert cached == before
    # ...until the rollups advance to a new hour (or the version is bumped).
    RollupFactory(
        hour=timezone.now().replace(minute=0, second=0, microsecond=0)
        + dt.timedelta(hours=1),
        metric="sessions",
    )
    after = staff_client.get(url, {"range": "7d"}).context["data"]["cards"][0]["value"]
    assert after == before + 1000

    # The periodic job rebuilds the daily rollups and bumps the version.
    OrderFactory(total=7, created_at=timezone.now() - dt.timedelta(minutes=1))
    analytics_rollup_task()
    bumped = staff_client.get(url, {"range": "7d"}).context["data"]["cards"][0]["value"]
    assert bumped == after + 7


def test_realtime_partial_lists_live_visitors(staff_client, db):
    now = timezone.now()
    EventFactory(
        visitor_id="alice", path="/p/runner/", occurred_at=now - dt.timedelta(minutes=1)
    )
    EventFactory(
        visitor_id="bob", path="/c/shoes/", occurred_at=now - dt.timedelta(minutes=2)
    )
    EventFactory(
        visitor_id="old", path="/old/", occurred_at=now - dt.timedelta(minutes=20)
    )
    EventFactory(visitor_id="bot", path="/bot/", occurred_at=now, is_bot=True)
    response = staff_client.get(reverse("adminpanel:realtime_partial"))
    body = response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    assert "data-active-visitors>2<" in body
    assert "/p/runner/" in body and "/c/shoes/" in body
    assert "/bot/" not in body
    assert "<html" not in body


def test_realtime_page_has_no_inline_script(staff_client, db):
    response = staff_client.get(reverse("adminpanel:realtime"))
    body = response.content.decode()
    assert "data-live-url" in body
    assert "<script>" not in body and "onclick" not in body
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_data_page_lists_tables_and_degrades_without_jobs(staff_client, shop_data):
    response = staff_client.get(reverse("adminpanel:data"))
    body = response.content.decode()
    assert "shop_order" in body
    assert "analytics_event" in body
    assert "SQL console" in body  # says, on purpose, there is none
    assert "<textarea" not in body
    assert 'id="jobs"' in body and 'id="archives"' in body


def test_job_actions_are_post_only_and_staff_only(staff_client, shopper_client):
    url = reverse("adminpanel:job_action", kwargs={"name": "nightly", "action": "run"})
    assert staff_client.get(url).status_code == 405


def test_job_action_refuses_unknown_actions(staff_client):
    url = reverse(
        "adminpanel:job_action", kwargs={"name": "nightly", "action": "explode"}
    )
    assert staff_client.post(url).status_code == 404


def test_data_page_switches_a_periodic_job_off_and_on(staff_client):
    from adminpanel.jobs import jobs_declared, jobs_state

    name = jobs_declared()[0].name
    url = reverse("adminpanel:job_action", kwargs={"name": name, "action": "disable"})
    response = staff_client.post(url, follow=True)
    assert response.status_code == 200
    assert name in response.content.decode()
    assert next(j for j in jobs_state() if j["name"] == name)["enabled"] is False
    staff_client.post(
        reverse("adminpanel:job_action", kwargs={"name": name, "action": "enable"})
    )
    assert next(j for j in jobs_state() if j["name"] == name)["enabled"] is True


def test_unknown_job_gets_a_message_not_a_500(staff_client):
    url = reverse(
        "adminpanel:job_action", kwargs={"name": "no-such-job", "action": "disable"}
    )
    response = staff_client.post(url, follow=True)
    assert response.status_code == 200
    assert "no-such-job" in response.content.decode()


@pytest.fixture(scope="module")
def local_s3():
    with moto_running() as url:
        yield url


@pytest.fixture
def aws_test_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_the_data_page_says_the_archive_bucket_is_missing(
    staff_client, settings, local_s3, aws_test_credentials
):
    settings.AWS_ENDPOINT_URL = local_s3
    settings.AWS_ARCHIVE_BUCKET = "no-such-archive"
    page = staff_client.get(reverse("adminpanel:data")).content.decode()
    assert "“no-such-archive” does not exist" in page
    assert "NoSuchBucket" not in page


def test_the_data_page_says_s3_cannot_be_reached(
    staff_client, settings, aws_test_credentials
):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there
    page = staff_client.get(reverse("adminpanel:data")).content.decode()
    assert "S3 cannot be reached" in page
    assert "EndpointConnectionError" not in page and "Could not connect" not in page


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("NoCredentialsError: Unable to locate credentials", "no AWS credentials"),
        ("ClientError: NoSuchBucket: The bucket does not exist", "does not exist"),
        ("ClientError: AccessDenied: Access Denied", "no AWS credentials"),
        ("ValueError: something else entirely", "server log has the details"),
    ],
)
def test_every_archive_error_reads_as_what_to_set_up(error, says):
    from adminpanel.views import _archive

    summary, _ = _archive({"bucket": "b", "error": error, "tables": []})
    assert says in summary["error"]
    assert error.split(":")[0] not in summary["error"]
