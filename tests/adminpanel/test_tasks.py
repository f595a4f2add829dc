"""The Data page's "Run now" queues the job for the task worker."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from adminpanel.models import JobRun


@pytest.mark.django_db(transaction=True)
def test_run_now_queues_the_job_and_the_worker_runs_it(staff_client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.PERIODIC_JOBS = {
        "payment_holds": {"task": "adminpanel.jobs.payment_holds_task", "interval": 60}
    }
    url = reverse(
        "adminpanel:job_action", kwargs={"name": "payment_holds", "action": "run"}
    )

    response = staff_client.post(url)

    assert response.status_code == 302
    assert not JobRun.objects.exists()  # nothing ran inside the request
    assert DBTaskResult.objects.count() == 1

    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)

    run = JobRun.objects.get()
    assert (run.name, run.status, run.counts) == (
        "payment_holds",
        JobRun.Status.SUCCESS,
        {"released": 0},
    )


@pytest.mark.django_db
def test_run_now_refuses_an_unknown_job(staff_client):
    url = reverse("adminpanel:job_action", kwargs={"name": "nope", "action": "run"})

    response = staff_client.post(url, follow=True)

    assert "unknown job" in response.content.decode()
