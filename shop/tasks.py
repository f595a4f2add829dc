"""
Background tasks (django.tasks), run by the worker (`manage.py db_worker`).

Enqueued on commit by the services, so a request never waits for them and
a failure here never undoes or fails the request that asked.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.tasks import task, task_backends
from django.utils import timezone

from .emails import order_email_deliver

logger = logging.getLogger(__name__)


@task
def order_email_send(*, order_id: int, kind: str, attempt: int = 1) -> None:
    """
    Send an order email; a failed send is queued again after the next delay
    in SHOP_EMAIL_RETRY_DELAYS, then given up (the failure stays recorded).
    """
    try:
        order_email_deliver(order_id=order_id, kind=kind)
    except Exception:
        delays = settings.SHOP_EMAIL_RETRY_DELAYS
        if attempt <= len(delays):
            retry = order_email_send
            if task_backends[retry.backend].supports_defer:
                retry = retry.using(
                    run_after=timezone.now() + timedelta(seconds=delays[attempt - 1])
                )
            logger.warning(
                "The %s email of order %s failed (attempt %s); retrying",
                kind,
                order_id,
                attempt,
            )
            retry.enqueue(order_id=order_id, kind=kind, attempt=attempt + 1)
        raise
