"""
Periodic jobs declared in ``settings.PERIODIC_JOBS`` and run by
``manage.py run_jobs`` (from cron or EventBridge Scheduler, every minute).

Each run is a JobRun row. On PostgreSQL a session advisory lock per job makes
an overlapping run skip a job that is already running; elsewhere a recent
"running" row of a live process does the same, less strictly. A run whose
process died (killed, out of memory, the machine gone) is marked failed as
soon as its lock is gone: PostgreSQL drops a dead session's advisory locks,
and elsewhere the row names the process that holds it.
"""

import datetime as dt
import json
import logging
import os
import socket
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from shop.services import order_holds_release_expired

from .archive import archive_run
from .models import JobRun, JobSwitch
from .pipeline import analytics_rollup_run

logger = logging.getLogger(__name__)

LAST_RUNS = 5
# Without advisory locks, a "running" row older than this is a crashed run.
STALE_RUNNING = dt.timedelta(hours=1)


class UnknownJob(ValueError):
    pass


@dataclass(frozen=True)
class Job:
    name: str
    task: str
    interval: int
    default_enabled: bool


def jobs_declared() -> list[Job]:
    return [
        Job(name, spec["task"], int(spec["interval"]), bool(spec.get("enabled", True)))
        for name, spec in settings.PERIODIC_JOBS.items()
    ]


def _job(name: str) -> Job:
    for job in jobs_declared():
        if job.name == name:
            return job
    raise UnknownJob(
        f"unknown job {name!r}; declared: {', '.join(settings.PERIODIC_JOBS)}"
    )


def _enabled_map() -> dict[str, bool]:
    switches = dict(JobSwitch.objects.values_list("name", "enabled"))
    return {j.name: switches.get(j.name, j.default_enabled) for j in jobs_declared()}


def job_set_enabled(*, name: str, enabled: bool) -> None:
    """Switch a job on or off; the choice outlives restarts and deploys."""
    _job(name)
    JobSwitch.objects.update_or_create(name=name, defaults={"enabled": enabled})


def _lock_key(name: str) -> int:
    # A stable signed 64-bit key per job, in a namespace of our own.
    return zlib.crc32(f"run_jobs:{name}".encode()) - 2**31


def _holder() -> dict:
    """What a running row records of the process that runs it."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _alive(run: JobRun) -> bool:
    """Whether the process that started ``run`` may still be running it."""
    holder = run.counts if isinstance(run.counts, dict) else {}
    if holder.get("host") != socket.gethostname() or "pid" not in holder:
        # Another machine's process: only its age says it is gone.
        return run.started_at >= timezone.now() - STALE_RUNNING
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True


def _try_lock(job: Job) -> bool:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(job.name)])
            return cursor.fetchone()[0]
    running = JobRun.objects.filter(name=job.name, status=JobRun.Status.RUNNING)
    return not any(_alive(run) for run in running)


def _reap(job: Job) -> int:
    """
    Mark failed the runs left "running" by a process that died. Called with
    the job's lock held, so no live process is running it.
    """
    return JobRun.objects.filter(name=job.name, status=JobRun.Status.RUNNING).update(
        status=JobRun.Status.ERROR,
        finished_at=timezone.now(),
        error="The process running this job died before it finished "
        "(its lock was released).",
    )


def jobs_reap() -> int:
    """Mark failed every run whose process died; returns how many."""
    reaped = 0
    for job in jobs_declared():
        if _try_lock(job):
            try:
                reaped += _reap(job)
            finally:
                _unlock(job)
    return reaped


def _unlock(job: Job) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(job.name)])


def _is_due(job: Job, now: dt.datetime) -> bool:
    last = JobRun.objects.filter(name=job.name).order_by("-started_at").first()
    # A little slack so that a job every 60 s run by a cron every minute is
    # not pushed to every other minute by jitter.
    return (
        last is None or last.started_at + dt.timedelta(seconds=job.interval - 5) <= now
    )


def _run(job: Job, *, only_if_due: bool) -> JobRun | None:
    if not _try_lock(job):
        logger.info("job %s is running elsewhere; skipped", job.name)
        return None
    try:
        _reap(job)
        now = timezone.now()
        # Checked under the lock: the run that held it may just have run it.
        if only_if_due and not _is_due(job, now):
            return None
        run = JobRun.objects.create(
            name=job.name,
            started_at=now,
            status=JobRun.Status.RUNNING,
            counts=_holder(),
        )
        try:
            # A savepoint: a task's database error must not poison the
            # connection that records the run.
            with transaction.atomic():
                counts = import_string(job.task)() or {}
            counts = counts if isinstance(counts, dict) else {"result": counts}
            run.counts = json.loads(json.dumps(counts, default=str))
            run.status = JobRun.Status.SUCCESS
        except Exception as exc:
            logger.exception("job %s failed", job.name)
            run.counts = {}  # the holder's pid is no result
            run.status = JobRun.Status.ERROR
            run.error = f"{type(exc).__name__}: {exc}"[:5000]
        run.finished_at = timezone.now()
        run.save(update_fields=["counts", "status", "error", "finished_at"])
        return run
    finally:
        _unlock(job)


def jobs_run_due() -> list[JobRun]:
    """Run, once, each enabled job whose interval has passed. Returns the runs."""
    enabled = _enabled_map()
    runs = []
    for job in jobs_declared():
        if not enabled[job.name]:
            continue
        run = _run(job, only_if_due=True)
        if run is not None:
            runs.append(run)
    return runs


def job_run_now(*, name: str) -> JobRun | None:
    """Run a job now, due or not (enabled or not); None when it is already running."""
    return _run(_job(name), only_if_due=False)


def jobs_state() -> list[dict]:
    """Each job with its interval, switch and last runs, for the Data page."""
    enabled = _enabled_map()
    state = []
    for job in jobs_declared():
        runs = list(
            JobRun.objects.filter(name=job.name).order_by("-started_at")[:LAST_RUNS]
        )
        state.append(
            {
                "name": job.name,
                "interval": job.interval,
                "enabled": enabled[job.name],
                "default_enabled": job.default_enabled,
                "last_runs": [
                    {
                        "started_at": r.started_at,
                        "finished_at": r.finished_at,
                        "status": r.status,
                        "counts": r.counts,
                        "error": r.error,
                        "duration_seconds": r.duration_seconds,
                    }
                    for r in runs
                ],
            }
        )
    return state


# ---------------------------------------------------------------------------
# Tasks: thin adapters from a job to the service it runs.
# ---------------------------------------------------------------------------


def analytics_rollup_task() -> dict:
    """The rollup pipeline over the recent hours, late events included."""
    return analytics_rollup_run().as_dict()


def payment_holds_task() -> dict:
    """Release the stock of card orders whose payment hold ran out."""
    return {"released": order_holds_release_expired()}


def archive_task() -> dict:
    result = archive_run()
    failed = [t.name for t in result.tables if t.status != "ok"]
    if failed:
        raise RuntimeError(f"archive failed for {', '.join(failed)}")
    return {
        "rows": result.rows,
        "files_uploaded": sum(t.files_uploaded for t in result.tables),
        "files_unchanged": sum(t.files_unchanged for t in result.tables),
    }
