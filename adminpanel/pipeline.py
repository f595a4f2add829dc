"""
The rollup pipeline: raw events → sessions and hourly rollups (analytics) →
the dashboards' daily rollups → a new dashboard cache version.

`analytics_rollup_run` is its one entry point, called by the periodic
`analytics_rollup` job, the `analytics_rollup` command and the demo seed.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery

from analytics.rollups import rollup_window, rollups_build
from analytics.sessions import sessions_build
from shop.models import Product

from .cache import analytics_version_bump
from .rollups import daily_rollups_refresh


@dataclass(frozen=True)
class RollupRun:
    """What one run rebuilt; `since` is None when there were no events."""

    since: dt.datetime | None
    until: dt.datetime | None
    sessions: int
    cells: int
    daily: dict

    def as_dict(self) -> dict:
        return {"sessions": self.sessions, "cells": self.cells, **self.daily}


def analytics_rollup_window(
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    lookback_hours: int | None = None,
) -> tuple[dt.datetime, dt.datetime] | None:
    """
    The hours a run rebuilds: [since, until) when given (until defaults to
    the next hour), else from the last rolled hour minus `lookback_hours`
    (default ANALYTICS_ROLLUP_LOOKBACK_HOURS) up to now. None: no events.
    """
    if since is not None:
        return since, until or dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    if lookback_hours is None:
        lookback_hours = settings.ANALYTICS_ROLLUP_LOOKBACK_HOURS
    return rollup_window(lookback_hours=lookback_hours)


def _product_category():
    # The catalogue's fact that the hourly rollups' category dimension needs.
    return Subquery(
        Product.objects.filter(pk=OuterRef("product_id")).values("category__slug")[:1]
    )


def analytics_rollup_run(
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    lookback_hours: int | None = None,
) -> RollupRun:
    """
    Rebuild sessions and hourly rollups over the window (see
    `analytics_rollup_window`), then the daily rollups, then move the
    dashboards' cache version so cached panels are recomputed.

    Idempotent: every step deletes what it covers and rebuilds it.
    """
    window = analytics_rollup_window(
        since=since, until=until, lookback_hours=lookback_hours
    )
    sessions = cells = 0
    if window is not None:
        start, end = window
        sessions = sessions_build(since=start, until=end)
        cells = rollups_build(since=start, until=end, category_of=_product_category())
    daily = daily_rollups_refresh()
    analytics_version_bump()
    start, end = window or (None, None)
    return RollupRun(
        since=start, until=end, sessions=sessions, cells=cells, daily=daily
    )
