"""
Recording clickstream events.

`event_record` is the one entry point for the rest of the project. It never
blocks on I/O and never raises into the caller.
"""

import logging

logger = logging.getLogger(__name__)


def event_record(*, name: str, **fields) -> None:
    """
    Record one event named `name` for the current request context.

    Fields are Event columns (product_id, variant_id, order_id, value,
    currency, properties, ...). Request context (visitor, session, path,
    user agent) is filled in from the current request by the middleware.
    """
    # Filled in by the clickstream work; recording must never break a caller.
    return None
