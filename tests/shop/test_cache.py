"""
Cached catalogue entries and pages are computed by one request at a time:
concurrent misses compute once, and an expired entry is served to the
requests that arrive while one request computes it again.
"""

import threading
import time

import pytest
from django.core.cache import cache, caches
from django.test import Client

from shop.cache import Cached, cache_lifetime, catalogue_cached
from shop.models import Product
from shop.pagecache import PageStore, pages

VERSION = 7
KEY = "stampede"
FULL_KEY = f"catalogue:{VERSION}:{KEY}"


class Slow:
    """A computation that blocks, on its first call only, until released."""

    def __init__(self, value):
        self.value = value
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            self.entered.set()
            assert self.release.wait(10)
        return self.value


def _in_thread(function) -> tuple[threading.Thread, list]:
    results = []
    thread = threading.Thread(target=lambda: results.append(function()))
    thread.start()
    return thread, results


def _fail():
    raise AssertionError("computed while another request computes it")


def test_concurrent_misses_compute_once():
    compute = Slow(["page"])
    first, first_result = _in_thread(
        lambda: catalogue_cached(KEY, compute, version=VERSION)
    )
    assert compute.entered.wait(10)
    others = [
        _in_thread(lambda: catalogue_cached(KEY, compute, version=VERSION))
        for _ in range(3)
    ]
    compute.release.set()
    for thread, _ in [(first, first_result), *others]:
        thread.join(10)

    assert compute.calls == 1
    assert [first_result, *[result for _, result in others]] == [[["page"]]] * 4


def test_an_expired_entry_is_served_while_one_request_computes_it_again():
    caches["catalogue"].set(FULL_KEY, Cached("old", time.time() - 1), timeout=60)
    compute = Slow("new")
    refresher, refreshed = _in_thread(
        lambda: catalogue_cached(KEY, compute, version=VERSION)
    )
    assert compute.entered.wait(10)

    assert catalogue_cached(KEY, _fail, version=VERSION) == "old"
    compute.release.set()
    refresher.join(10)
    assert refreshed == ["new"]
    assert catalogue_cached(KEY, _fail, version=VERSION) == "new"


def test_an_entry_another_process_is_computing_again_is_served_expired():
    caches["catalogue"].set(FULL_KEY, Cached("old", time.time() - 1), timeout=60)
    # Another process's claim on computing it (in Redis, shared).
    cache.add(f"catalogue:refreshing:{FULL_KEY}", 1, timeout=60)

    assert catalogue_cached(KEY, _fail, version=VERSION) == "old"

    cache.delete(f"catalogue:refreshing:{FULL_KEY}")
    assert catalogue_cached(KEY, lambda: "new", version=VERSION) == "new"
    # The claim is given back once computed.
    assert cache.get(f"catalogue:refreshing:{FULL_KEY}") is None


def test_an_expired_entry_is_computed_again_while_redis_is_down(settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "config.cache.BreakerRedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    caches["catalogue"].set(FULL_KEY, Cached("old", time.time() - 1), timeout=60)

    assert catalogue_cached(KEY, lambda: "new", version=VERSION) == "new"
    assert catalogue_cached(KEY, _fail, version=VERSION) == "new"


def test_a_cached_none_is_not_computed_again():
    assert catalogue_cached(KEY, lambda: None, version=VERSION) is None
    assert catalogue_cached(KEY, _fail, version=VERSION) is None


def test_entries_computed_together_expire_at_different_times(settings):
    settings.SHOP_CACHE_SECONDS = 300
    lifetimes = [cache_lifetime() for _ in range(20)]

    assert all(240 <= lifetime <= 300 for lifetime in lifetimes)
    assert max(lifetimes) - min(lifetimes) > 1


def test_an_expired_page_is_kept_for_the_stale_seconds_only(settings):
    store = PageStore()
    store.set("fresh", "<p>fresh</p>", timeout=60, stale=60)
    store.set("expired", "<p>expired</p>", timeout=-1, stale=60)
    store.set("gone", "<p>gone</p>", timeout=-61, stale=60)

    assert store.get("fresh") == "<p>fresh</p>"
    assert store.get("expired") is None
    assert store.entry("expired").value == "<p>expired</p>"
    assert not store.entry("expired").fresh
    assert store.entry("gone") is None
    assert store.size == len("<p>fresh</p>") + len("<p>expired</p>")


@pytest.mark.django_db
def test_an_expired_page_another_process_renders_again_is_served_as_it_was(
    product,
):
    url = product.category.get_absolute_url()
    assert product.name in Client().get(url).content.decode()
    [(key, (until, entry))] = [
        item for item in pages._pages.items() if ":category:" in item[0]
    ]
    pages._pages[key] = (until, Cached(entry.value, time.time() - 1))
    # A change the catalogue version does not see (no signal), so that the
    # page served shows which render it comes from.
    Product.objects.filter(pk=product.pk).update(name="Renamed Product")
    cache.add(f"catalogue:refreshing:{key}", 1, timeout=60)

    assert "Renamed Product" not in Client().get(url).content.decode()

    cache.delete(f"catalogue:refreshing:{key}")
    caches["catalogue"].clear()  # the listing entry, not only the page
    assert "Renamed Product" in Client().get(url).content.decode()


@pytest.mark.django_db
def test_with_no_page_cache_every_request_renders_the_page(settings, product):
    settings.SHOP_PAGE_CACHE_BYTES = 0
    url = product.category.get_absolute_url()
    Client().get(url)
    Product.objects.filter(pk=product.pk).update(name="Renamed Product")
    caches["catalogue"].clear()

    assert "Renamed Product" in Client().get(url).content.decode()
    assert pages.size == 0
