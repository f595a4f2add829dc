import datetime as dt
import os
import re
import socket
import subprocess
import sys
from decimal import Decimal
from io import StringIO

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from adminpanel.customer_stats import customer_stats_refresh
from adminpanel.jobs import (
    _lock_key,
    job_run_now,
    job_set_enabled,
    jobs_run_due,
    jobs_state,
)
from adminpanel.models import CustomerStats, JobRun
from shop.models import Order
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_due_enabled_jobs_run_once_and_are_recorded(settings):
    runs = jobs_run_due()
    assert sorted(r.name for r in runs) == [
        "analytics_rollup",
        "payment_holds",
        "refresh_customer_stats",
    ]
    assert all(r.status == "success" and r.finished_at for r in runs)
    assert jobs_run_due() == []  # nothing is due a second later
    JobRun.objects.update(started_at=timezone.now() - dt.timedelta(seconds=120))
    assert sorted(r.name for r in jobs_run_due()) == [
        "analytics_rollup",
        "payment_holds",
    ]


def test_switch_persists_and_overrides_the_settings_default():
    job_set_enabled(name="archive_to_s3", enabled=True)
    job_set_enabled(name="analytics_rollup", enabled=False)
    state = {j["name"]: j for j in jobs_state()}
    assert (
        state["archive_to_s3"]["enabled"]
        and not state["archive_to_s3"]["default_enabled"]
    )
    assert not state["analytics_rollup"]["enabled"]
    assert state["refresh_customer_stats"]["interval"] == 600


def test_a_failing_job_records_its_error(settings):
    settings.PERIODIC_JOBS = {
        "boom": {"task": "adminpanel.jobs.no_such_task", "interval": 60}
    }
    run = job_run_now(name="boom")
    assert run.status == "error" and "no_such_task" in run.error
    state = jobs_state()[0]
    assert state["last_runs"][0]["status"] == "error"


def test_run_jobs_command_loops_a_bounded_number_of_times():
    out = StringIO()
    call_command("run_jobs", "--loop", "--every", "0", "--iterations", "2", stdout=out)
    assert JobRun.objects.filter(name="refresh_customer_stats").count() == 1


@pytest.mark.postgres
def test_an_overlapping_run_skips_a_job_held_by_another(settings):
    # Another run_jobs process holds the lock: a second connection takes it.
    params = connection.get_connection_params()
    other = psycopg2.connect(
        **{
            k: v
            for k, v in params.items()
            if k in {"dbname", "user", "host", "port", "password"}
        }
    )
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s)", [_lock_key("refresh_customer_stats")]
            )
        runs = jobs_run_due()
        assert sorted(r.name for r in runs) == ["analytics_rollup", "payment_holds"]
        assert job_run_now(name="refresh_customer_stats") is None
    finally:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s)", [_lock_key("refresh_customer_stats")]
            )
        other.close()
    assert job_run_now(name="refresh_customer_stats").status == "success"


def test_customer_stats_recency_frequency_spend_and_ltv():
    now = timezone.now()
    ada, bob = UserFactory(), UserFactory()
    OrderFactory(
        user=ada, total=Decimal("10.00"), created_at=now - dt.timedelta(days=200)
    )
    OrderFactory(
        user=ada, total=Decimal("30.00"), created_at=now - dt.timedelta(days=5)
    )
    OrderFactory(
        user=ada, total=Decimal("99.00"), created_at=now, status=Order.Status.CANCELLED
    )
    OrderFactory(user=bob, total=Decimal("7.50"), created_at=now - dt.timedelta(days=1))
    assert customer_stats_refresh(now=now) == {"customers": 2, "removed": 0}
    stats = CustomerStats.objects.get(user=ada)
    assert (stats.orders_count, stats.recency_days) == (2, 5)
    assert (stats.lifetime_value, stats.spend_90d, stats.average_order_value) == (
        Decimal("40.00"), Decimal("30.00"), Decimal("20.00"),
    )  # fmt: skip
    Order.objects.filter(user=bob).delete()
    assert customer_stats_refresh() == {"customers": 1, "removed": 1}


def test_run_jobs_list_prints_each_job_its_schedule_switch_and_last_run():
    job_set_enabled(name="archive_to_s3", enabled=True)
    job_run_now(name="refresh_customer_stats")
    out = StringIO()
    call_command("run_jobs", "--list", stdout=out)
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()[1:]}
    assert set(lines) == {j["name"] for j in jobs_state()}
    assert re.search(
        r"refresh_customer_stats\s+600s\s+on\s+\S+ \S+ success in",
        lines["refresh_customer_stats"],
    )
    assert re.search(
        r"archive_to_s3\s+300s\s+on \(switched\)\s+never", lines["archive_to_s3"]
    )
    assert not JobRun.objects.filter(name="analytics_rollup").exists()  # ran nothing


def dead_pid() -> int:
    """The id of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_whose_process_died_is_marked_failed_once_its_lock_is_gone():
    # A run_jobs process was killed mid-run: its row says "running", and
    # (PostgreSQL) its advisory lock went with its session.
    orphan = JobRun.objects.create(
        name="refresh_customer_stats",
        started_at=timezone.now() - dt.timedelta(seconds=30),
        status=JobRun.Status.RUNNING,
        counts={"host": socket.gethostname(), "pid": dead_pid()},
    )
    run = job_run_now(name="refresh_customer_stats")
    assert run is not None and run.status == "success"
    orphan.refresh_from_db()
    assert orphan.status == "error" and orphan.finished_at is not None
    assert "died" in orphan.error


def test_the_list_shows_a_dead_run_as_failed():
    JobRun.objects.create(
        name="analytics_rollup",
        started_at=timezone.now(),
        status=JobRun.Status.RUNNING,
        counts={"host": socket.gethostname(), "pid": dead_pid()},
    )
    out = StringIO()
    call_command("run_jobs", "--list", stdout=out)
    assert re.search(r"analytics_rollup .* error.*died", out.getvalue())


def test_a_live_run_keeps_its_lock_and_is_not_reaped():
    # This process is alive: on SQLite its row is the lock.
    live = JobRun.objects.create(
        name="refresh_customer_stats",
        started_at=timezone.now(),
        status=JobRun.Status.RUNNING,
        counts={"host": socket.gethostname(), "pid": os.getpid()},
    )
    if connection.vendor == "postgresql":
        # There the advisory lock is the truth: another session holds it.
        params = connection.get_connection_params()
        other = psycopg2.connect(
            **{
                k: v
                for k, v in params.items()
                if k in {"dbname", "user", "host", "port", "password"}
            }
        )
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s)", [_lock_key("refresh_customer_stats")]
            )
    try:
        assert job_run_now(name="refresh_customer_stats") is None
        live.refresh_from_db()
        assert live.status == "running"
    finally:
        if connection.vendor == "postgresql":
            other.close()
