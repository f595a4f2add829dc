"""
Sessions: assigning cookieless events to sessions, and building summaries.

A session ends after 30 minutes of inactivity, at midnight in the shop's
time zone, or when the campaign changes (see `tracking.session_continues`).
Because no session crosses local midnight, summaries are rebuilt one whole
local day at a time, which makes the rebuild idempotent.
"""

import logging
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from config.days import local_days_bounds, local_days_covering

from . import tracking
from .models import Event, SessionSummary

logger = logging.getLogger(__name__)


def sessions_assign(*, events: list[dict]) -> None:
    """
    Give cookieless events (hashed visitors, no session yet) a session.

    Runs in the flusher thread. State lives in the shared cache so all
    processes agree; if the cache is down, sessions stay per process.
    """
    pending = [e for e in events if not e.get("session_id") and e.get("visitor_id")]
    if not pending:
        return
    keys = {f"analytics:hs:{e['visitor_id']}" for e in pending}
    try:
        raw = cache.get_many(list(keys))
    except Exception as exc:
        logger.warning("analytics: session cache unavailable (%s)", exc)
        raw = {}
    states = {k: tracking.SessionState.load(v) for k, v in raw.items()}
    for event in pending:
        key = f"analytics:hs:{event['visitor_id']}"
        state = states.get(key)
        at = event["occurred_at"]
        if not tracking.session_continues(
            state=state, now=at, campaign=event.get("utm_campaign", "")
        ):
            state = tracking.SessionState(
                session_id=tracking.new_id(),
                last_seen=0,
                channel=event.get("channel") or "direct",
                source=event.get("utm_source", ""),
                medium=event.get("utm_medium", ""),
                campaign=event.get("utm_campaign", ""),
                referrer=event.get("referrer", ""),
            )
            states[key] = state
        state.last_seen = max(state.last_seen, int(at.timestamp()))
        event.update(
            session_id=state.session_id,
            channel=state.channel,
            utm_source=state.source,
            utm_medium=state.medium,
            utm_campaign=state.campaign,
        )
    try:
        cache.set_many(
            {k: s.dump() for k, s in states.items() if s is not None},
            timeout=settings.ANALYTICS_SESSION_TIMEOUT + 60,
        )
    except Exception as exc:
        logger.warning("analytics: session cache unavailable (%s)", exc)


SUMMARY_SQL = """
INSERT INTO analytics_session (
    session_id, visitor_id, user_id, started_at, ended_at, landing_path,
    exit_path, page_views, events, referrer, source, medium, campaign,
    channel, device, browser, os, country, is_bot, converted, revenue)
SELECT a.session_id, f.visitor_id, a.user_id, a.started_at, a.ended_at,
       f.path, l.path, a.page_views, a.events, f.referrer, f.utm_source,
       f.utm_medium, f.utm_campaign, f.channel, f.device, f.browser, f.os,
       f.country, a.is_bot, a.converted, a.revenue
FROM (
    SELECT session_id, min(occurred_at) AS started_at,
           max(occurred_at) AS ended_at,
           count(*) FILTER (WHERE name = 'page_view') AS page_views,
           count(*) AS events, max(user_id) AS user_id,
           bool_or(is_bot) AS is_bot,
           bool_or(name = 'purchase') AS converted,
           coalesce(sum(value) FILTER (WHERE name = 'purchase'), 0) AS revenue
    FROM analytics_event
    WHERE occurred_at >= %(start)s AND occurred_at < %(end)s AND session_id <> ''
    GROUP BY session_id
) a
JOIN (
    SELECT DISTINCT ON (session_id) session_id, visitor_id, path, referrer,
           utm_source, utm_medium, utm_campaign, channel, device, browser,
           os, country
    FROM analytics_event
    WHERE occurred_at >= %(start)s AND occurred_at < %(end)s AND session_id <> ''
    ORDER BY session_id, name <> 'page_view', occurred_at, id
) f ON f.session_id = a.session_id
JOIN (
    SELECT DISTINCT ON (session_id) session_id, path
    FROM analytics_event
    WHERE occurred_at >= %(start)s AND occurred_at < %(end)s AND session_id <> ''
    ORDER BY session_id, name = 'page_view' DESC, occurred_at DESC, id DESC
) l ON l.session_id = a.session_id
ON CONFLICT (session_id) DO UPDATE SET
    started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
    landing_path = EXCLUDED.landing_path, exit_path = EXCLUDED.exit_path,
    page_views = EXCLUDED.page_views, events = EXCLUDED.events,
    user_id = EXCLUDED.user_id, is_bot = EXCLUDED.is_bot,
    converted = EXCLUDED.converted, revenue = EXCLUDED.revenue
"""

_FIRST = (
    "visitor_id",
    "path",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "channel",
    "device",
    "browser",
    "os",
    "country",
)


_SUMMARY_FIELD = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "campaign",
}


def _summaries_python(*, start: datetime, end: datetime) -> list[SessionSummary]:
    rows = (
        Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .exclude(session_id="")
        .order_by("session_id", "occurred_at", "id")
        .values_list(
            "session_id", "name", "occurred_at", "user_id", "is_bot", "value", *_FIRST
        )
        .iterator(chunk_size=5000)
    )
    summaries, current, first, first_view, last_view, last_path = (
        [],
        None,
        None,
        None,
        None,
        "",
    )

    def close():
        landing = first_view or first
        current.landing_path = landing[7]
        current.exit_path = last_view or last_path
        for name, value in zip(_FIRST, landing[6:], strict=True):
            if name != "path":
                setattr(current, _SUMMARY_FIELD.get(name, name), value)
        summaries.append(current)

    for row in rows:
        session_id, name, at, user_id, is_bot, value = row[:6]
        if current is None or current.session_id != session_id:
            if current is not None:
                close()
            current = SessionSummary(
                session_id=session_id, started_at=at, revenue=Decimal("0.00")
            )
            first, first_view, last_view = row, None, None
        current.ended_at = at
        current.events += 1
        current.is_bot = current.is_bot or is_bot
        if user_id is not None:
            current.user_id = max(user_id, current.user_id or 0)
        last_path = row[7]
        if name == "page_view":
            current.page_views += 1
            first_view = first_view or row
            last_view = row[7]
        elif name == "purchase":
            current.converted = True
            current.revenue += value or 0
    if current is not None:
        close()
    return summaries


@transaction.atomic
def sessions_build(*, since: datetime, until: datetime) -> int:
    """
    Rebuild the summaries of every session on the local days touching
    [since, until). Idempotent: a second run gives the same rows.
    """
    # Whole local days: a session ends at local midnight.
    start, end = local_days_bounds(*local_days_covering(since, until))
    SessionSummary.objects.filter(started_at__gte=start, started_at__lt=end).delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(SUMMARY_SQL, {"start": start, "end": end})
            return cursor.rowcount
    summaries = _summaries_python(start=start, end=end)
    SessionSummary.objects.filter(
        session_id__in=[s.session_id for s in summaries]
    ).delete()
    SessionSummary.objects.bulk_create(summaries, batch_size=1000)
    return len(summaries)
