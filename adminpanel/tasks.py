"""
Background tasks of the dashboards (django.tasks), run by the worker.

The Data page's "Run now" queues the job here instead of running it inside
the request, which a long archive would hold for minutes.
"""

from django.tasks import task

from .jobs import job_run_now, jobs_declared


@task
def job_run(*, name: str) -> dict | None:
    """Run one periodic job now; None when it is already running elsewhere."""
    run = job_run_now(name=name)
    return None if run is None else {"status": run.status, "counts": run.counts}


def job_run_enqueue(*, name: str) -> None:
    """Queue a run of a declared job for the worker; LookupError for no such job."""
    if name not in {job.name for job in jobs_declared()}:
        raise LookupError(f"unknown job {name!r}")
    job_run.enqueue(name=name)
