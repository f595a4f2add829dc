"""
Versioned caching of catalogue reads.

Every cached catalogue entry carries the current catalogue version in its
key; bumping the version (on any product, variant, image or category change)
makes every old entry unreachable at once, with no key scans.

The version lives in the shared cache (Redis), read once per request. The
entries themselves live in the per-process "catalogue" cache: since a key
names its version, a process can never serve a stale entry, and a warm page
costs one round trip to Redis instead of one per fragment.

Entries (and whole pages, shop/pagecache.py) also expire, after about
SHOP_CACHE_SECONDS (less a random fifth, so entries computed together do
not expire together), for what changes without a version bump (stock,
units sold). An expired entry is computed again by one request at a time:
requests arriving meanwhile are served the expired entry (`cached_once`).
"""

import hashlib
import random
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Cached:
    """A cached value and until when (time.time()) it is fresh."""

    value: Any
    fresh_until: float

    @property
    def fresh(self) -> bool:
        return time.time() < self.fresh_until


def cache_lifetime() -> float:
    """
    How long an entry computed now stays fresh: SHOP_CACHE_SECONDS less up
    to a fifth, at random, so that entries computed together (at start-up,
    after a catalogue change, in every process) do not expire together.
    """
    return settings.SHOP_CACHE_SECONDS * random.uniform(0.8, 1.0)


# The keys this process is computing now, each with an event set when done.
_computing: dict[str, threading.Event] = {}
_computing_lock = threading.Lock()
# How long a request waits for another thread's computation of the entry it
# missed before computing it itself.
MISS_WAIT_SECONDS = 30.0


def cached_once(
    key: str,
    read: Callable[[], Cached | None],
    compute: Callable[[], Any],
    *,
    keeps: bool = True,
) -> Any:
    """
    The value of `key`: fresh from `read()`, or computed by `compute()`
    (which stores it) in one request at a time.

    - A miss in several threads of a process at once: one computes, the
      others wait for its entry.
    - An expired entry (still kept SHOP_CACHE_STALE_SECONDS): the first
      request to see it computes it again; requests arriving meanwhile, in
      this process or in another one refreshing its own copy (a short claim
      in Redis), are served the expired entry. Without Redis, processes
      just do not see each other's claims.

    `keeps`: whether the store keeps entries at all; if not, every request
    computes its own.
    """
    entry = read()
    if entry is not None and entry.fresh:
        return entry.value
    if not keeps:
        return compute()
    with _computing_lock:
        done = _computing.get(key)
        if done is None:
            _computing[key] = threading.Event()
    if done is not None:
        if entry is not None:
            return entry.value
        done.wait(MISS_WAIT_SECONDS)
        entry = read()
        return entry.value if entry is not None else compute()
    claim = f"catalogue:refreshing:{key}"
    claimed = False
    try:
        if entry is not None:
            claimed = _claim(claim)
            if not claimed:
                return entry.value
        return compute()
    finally:
        if claimed:
            with suppress(Exception):
                cache.delete(claim)
        with _computing_lock:
            _computing.pop(key).set()


def _claim(claim: str) -> bool:
    """
    Whether this process may refresh an entry now: no other process holds
    the claim in Redis. With Redis away, every process may.
    """
    try:
        # The claim outlives a crashed holder by this much at most.
        return bool(cache.add(claim, 1, timeout=settings.SHOP_CACHE_STALE_SECONDS))
    except Exception:
        return True


def _key_plain(key: str) -> str:
    """`key`, or its digest if it holds what a cache key should not (a
    shopper's search words: spaces, any script, any length)."""
    if len(key) <= 200 and key.isascii() and key.isprintable() and " " not in key:
        return key
    return "h-" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def catalogue_cached(
    key: str, compute: Callable[[], Any], *, version: int | None = None
):
    """
    Return the cached value for `key`, computing and storing it on a miss
    or once it expired (see `cached_once`).
    """
    if version is None:
        version = catalogue_version()
    if version == 0:
        return compute()
    store = caches["catalogue"]
    full_key = f"catalogue:{version}:{_key_plain(key)}"

    def compute_and_store():
        value = compute()
        lifetime = cache_lifetime()
        store.set(
            full_key,
            Cached(value, time.time() + lifetime),
            timeout=lifetime + settings.SHOP_CACHE_STALE_SECONDS,
        )
        return value

    return cached_once(
        full_key,
        lambda: store.get(full_key),
        compute_and_store,
        keeps=settings.CATALOGUE_CACHE,
    )
