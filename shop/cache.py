"""
Versioned caching of catalogue reads.

Every cached catalogue entry carries the current catalogue version in its
key; bumping the version (on any product, variant, image or category change)
makes every old entry unreachable at once, with no key scans.

The version lives in the shared cache (Redis), read once per request. The
entries themselves live in the per-process "catalogue" cache: since a key
names its version, a process can never serve a stale entry, and a warm page
costs one round trip to Redis instead of one per fragment.
"""

import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction

VERSION_KEY = "catalogue:version"


# The version as this process last read it, and when (monotonic seconds);
# "last" outlives a failed read, for serving on while Redis is away.
_seen = {"version": 0, "at": -1e9, "last": 0}
# Stock counters as this process last read them, for the same reason.
_stock_seen: dict[int, int] = {}
# Counters this process could not move while the cache was away: moved as
# soon as it answers again, so no change is lost to an outage.
_unsent: set[str] = set()


def catalogue_version() -> int:
    """
    The current catalogue version.

    While the shared cache is unreachable, the version this process last
    read: its entries hold what the database held, no other process can
    move the version meanwhile, and the catalogue keeps being served from
    cache. 0 (no caching) if this process changed the catalogue since.

    A process re-reads it from Redis at most every CATALOGUE_VERSION_TTL
    seconds (default 1): another process's change shows within that time,
    this process's own change at once.
    """
    now = time.monotonic()
    if _seen["version"] and now - _seen["at"] < settings.CATALOGUE_VERSION_TTL:
        return _seen["version"]
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            # Start from the clock, not 1: after a cache flush, a version
            # must never repeat one that per-process caches still hold.
            cache.add(VERSION_KEY, time.time_ns() // 1000, timeout=None)
            version = cache.get(VERSION_KEY) or 1
    except Exception:
        # A cache outage must not take the catalogue down with it.
        _seen["version"] = 0
        return _seen["last"]
    _seen.update(version=version, at=now, last=version)
    if _unsent:
        _unsent_replay()
    return version


def catalogue_bump() -> None:
    """
    Invalidate every cached catalogue entry, now and again at commit.

    The bump at commit matters: a page rendered between the first bump and
    the commit reads the old rows and caches them under the new version; the
    second bump makes that entry unreachable too.
    """
    _bump()
    transaction.on_commit(_bump)


def _bump() -> None:
    # This process reads the new version at once, and never serves the old
    # one again, even while the cache is down.
    _seen.update(version=0, last=0)
    # A cache outage leaves nothing stale behind to invalidate.
    counter_bump(VERSION_KEY)


def counter_bump(key: str) -> bool:
    """
    Move the version counter `key` on; False when the cache is down.

    A missing counter starts from the clock, not from 1, so that after the
    cache loses it no old value (and no entry keyed by one) comes back.
    """
    try:
        cache.incr(key)
    except ValueError:
        with suppress(Exception):
            cache.add(key, time.time_ns() // 1000, timeout=None)
    except Exception:
        _unsent.add(key)
        return False
    return True


def _unsent_replay() -> None:
    for key in list(_unsent):
        _unsent.discard(key)
        if not counter_bump(key):
            return
    # This process's own pages read the moved counters at once.
    _seen["version"] = 0


def stock_version(product_id: int) -> int:
    """
    A counter bumped whenever an order moves this product's stock.

    While the cache is away, the counter as last read (-1, not cacheable,
    if never read or this process moved the product's stock since).
    """
    try:
        version = cache.get(f"catalogue:stock:{product_id}") or 0
    except Exception:
        return _stock_seen.get(product_id, -1)
    _stock_seen[product_id] = version
    return version


def stock_bump(product_ids) -> None:
    for product_id in set(product_ids):
        _stock_seen.pop(product_id, None)
        counter_bump(f"catalogue:stock:{product_id}")


def catalogue_cached(
    key: str, compute: Callable[[], Any], *, version: int | None = None
):
    """Return the cached value for `key`, computing and storing it on a miss."""
    if version is None:
        version = catalogue_version()
    if version == 0:
        return compute()
    store = caches["catalogue"]
    full_key = f"catalogue:{version}:{key}"
    value = store.get(full_key)
    if value is None:
        value = compute()
        store.set(full_key, value, timeout=settings.SHOP_CACHE_SECONDS)
    return value
