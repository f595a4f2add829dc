"""
A hung Redis never costs a shopper a page: the cache's circuit breaker
(config/cache.py) serves without Redis after one timeout, then probes again.

The Redis here is a private redis-server, paused with SIGSTOP as a stuck
server would be. The latency bound is generous (a test is not a benchmark);
bench/redis_pause.py measures the p95 target (docs/benchmarks.md).
"""

import statistics
import time

import pytest
from django.core.cache import cache
from django.test import Client

from shop.cache import catalogue_version, stock_bump, stock_version

pytestmark = pytest.mark.django_db

TIMEOUT = 0.3
BACKOFF = 1.0


def _redis_cache(settings, url, *, backoff=BACKOFF):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "config.cache.BreakerRedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": TIMEOUT,
                "SOCKET_TIMEOUT": TIMEOUT,
                "BREAKER_BACKOFF": backoff,
            },
        },
    }


@pytest.fixture
def paused_redis_cache(private_redis, settings):
    _redis_cache(settings, private_redis.url)
    return private_redis


def _timed_pages(client, urls, rounds):
    timings, statuses = [], []
    for _ in range(rounds):
        for url in urls:
            start = time.perf_counter()
            statuses.append(client.get(url).status_code)
            timings.append(time.perf_counter() - start)
    return timings, statuses


def _until_probed(seconds=BACKOFF + 2):
    """Call the cache until its breaker's background probe has closed it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            cache.get("probe")
            return
        except Exception:
            time.sleep(0.05)
    raise AssertionError("the breaker never closed")


def _p95(timings):
    return statistics.quantiles(timings, n=20)[-1]


def test_pages_keep_answering_fast_while_redis_is_paused(
    private_redis, settings, product
):
    # The default back-off: a probe costs one request one timeout.
    _redis_cache(settings, private_redis.url, backoff=5.0)
    client = Client()
    urls = [
        "/",
        product.category.get_absolute_url(),
        product.get_absolute_url(),
        "/search/?q=product",
    ]
    _timed_pages(client, urls, 2)  # warm
    normal, _ = _timed_pages(client, urls, 10)

    private_redis.pause()
    try:
        timings, statuses = _timed_pages(client, urls, 10)
    finally:
        private_redis.resume()

    assert all(status < 500 for status in statuses), statuses
    # Without the breaker every page waits at least one socket timeout
    # (TIMEOUT) per Redis call; with it, only the call that opens it and
    # one probe per back-off do.
    assert _p95(timings) < max(3 * _p95(normal), _p95(normal) + TIMEOUT / 2), (
        _p95(normal),
        _p95(timings),
    )
    assert sum(t >= TIMEOUT for t in timings) <= 2


def test_the_cache_is_probed_again_after_the_back_off(paused_redis_cache):
    cache.set("probe", "before")
    paused_redis_cache.pause()
    start = time.perf_counter()
    for _ in range(20):
        assert catalogue_version() >= 0
        with pytest.raises(Exception, match="redis"):
            cache.get("probe")
    assert time.perf_counter() - start < 2 * TIMEOUT + 0.2
    # The probe runs in the background: no call waits on a hung Redis.
    time.sleep(BACKOFF + 0.1)
    start = time.perf_counter()
    with pytest.raises(Exception, match="redis"):
        cache.get("probe")
    assert time.perf_counter() - start < 0.1
    paused_redis_cache.resume()

    _until_probed()
    assert cache.get("probe") == "before"
    assert cache.breaker.state == "closed"


def test_the_catalogue_keeps_its_version_while_redis_is_away(paused_redis_cache):
    version = catalogue_version()
    paused_redis_cache.pause()
    try:
        time.sleep(1.1)  # past CATALOGUE_VERSION_TTL: Redis is asked again
        assert catalogue_version() == version
    finally:
        paused_redis_cache.resume()


def test_a_stock_change_made_while_redis_is_away_is_sent_when_it_is_back(
    paused_redis_cache, settings
):
    settings.CATALOGUE_VERSION_TTL = 0
    before = stock_version(7)
    paused_redis_cache.pause()
    try:
        assert stock_version(7) == before  # served on, as last read
        stock_bump([7])
        assert stock_version(7) == -1  # moved here: not served from cache
    finally:
        paused_redis_cache.resume()
    _until_probed()
    catalogue_version()  # the next read that reaches Redis sends the bump
    assert stock_version(7) not in (before, -1)
