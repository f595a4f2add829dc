"""
Caching of dashboard panels by date range.

A panel's key carries `analytics_version()` (a counter in the cache that a
rollup run bumps: the `analytics_rollup` job and command, after rebuilding
the daily rollups) and the newest rolled-up hour, so new rollups make old
entries unreachable at once, with no key scans. Entries also expire after a
short TTL, for rollups rebuilt without a bump (a bench).
"""

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache

from shop.cache import counter_bump

from .selectors import rollup_watermark

logger = logging.getLogger(__name__)

VERSION_KEY = "analytics:version"
PANEL_TTL_SECONDS = 60


def analytics_version() -> int:
    try:
        return int(cache.get(VERSION_KEY, 0) or 0)
    except Exception:
        return 0


def analytics_version_bump() -> None:
    """Make every cached panel unreachable: the rollups it was built from moved."""
    if not counter_bump(VERSION_KEY):
        logger.warning("Dashboard cache unavailable; panels expire on their TTL")


def panel_generation() -> str:
    """What every panel key depends on: one cache read and one indexed query."""
    watermark = rollup_watermark()
    stamp = watermark.strftime("%Y%m%d%H") if watermark else "none"
    return f"{analytics_version()}:{stamp}"


def panel_cached(
    *, name: str, parts: tuple, compute: Callable[[], Any], generation: str
):
    key = "dash:" + ":".join([generation, name, *(str(p) for p in parts)])
    try:
        value = cache.get(key)
    except Exception:
        logger.warning("Dashboard cache unavailable; computing %s live", name)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout=PANEL_TTL_SECONDS)
        except Exception:
            logger.warning("Could not cache dashboard panel %s", name)
    return value
