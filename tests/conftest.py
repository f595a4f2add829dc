import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import suppress
from types import SimpleNamespace

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection

from config.breaker import breakers_reset
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    UserFactory,
    VariantFactory,
)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with empty caches (Redis in CI, memory locally)."""
    from shop.cache import _seen, _stock_seen, _unsent
    from shop.pagecache import pages

    pages.clear()
    _seen.update(version=0, last=0)
    _stock_seen.clear()
    _unsent.clear()
    breakers_reset()
    for alias in caches:
        caches[alias].clear()
    yield
    for alias in caches:
        # A test may leave a cache that cannot answer (Redis paused or gone).
        with suppress(Exception):
            caches[alias].clear()


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    """
    Background tasks run as soon as they are queued, on commit, in the test's
    process; tests of the worker itself switch to the database backend.
    """
    settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
    }


@pytest.fixture(scope="session", autouse=True)
def _analytics_spill_dir_for_the_run(tmp_path_factory):
    """
    Recorders shut down at exit, after every fixture has been undone: what
    they spill then goes to this run's folder, not to the project's .local/,
    where the next `make run` would replay test events into its database.
    """
    django_settings.ANALYTICS_SPILL_DIR = str(
        tmp_path_factory.mktemp("analytics-spill-at-exit")
    )


@pytest.fixture(autouse=True)
def _analytics_spill_dir(settings, tmp_path):
    """Events spilled at a recorder's shutdown stay in the test's own folder."""
    settings.ANALYTICS_SPILL_DIR = str(tmp_path / "analytics-spill")


@pytest.fixture
def private_redis(tmp_path):
    """
    A redis-server of the test's own on a free loopback port, which the
    test may pause (SIGSTOP: it hangs, as a stuck server does) and resume.
    """
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url, socket_timeout=0.2).ping()
            break
        except redis.RedisError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.02)
    server = SimpleNamespace(
        url=url,
        pause=lambda: process.send_signal(signal.SIGSTOP),
        resume=lambda: process.send_signal(signal.SIGCONT),
    )
    try:
        yield server
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(10)


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); SQLite lacks the feature")


@pytest.fixture
def browser_settings(settings, monkeypatch):
    """What every test driving a real browser against `live_server` needs."""
    # Playwright's sync API runs an asyncio event loop in the test's thread,
    # so Django refuses ORM calls there (SynchronousOnlyOperation) although
    # they are plain blocking calls made outside that loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server speaks plain HTTP: Secure cookies would never return.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    # The live server answers /static/ itself from the source folders (not
    # WhiteNoise and STATIC_ROOT), so it knows no fingerprinted names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("postgres"):
            item.fixturenames.append("postgres_only")
        if item.get_closest_marker("browser"):
            item.fixturenames.append("browser_settings")


@pytest.fixture
def category(db):
    return CategoryFactory()


@pytest.fixture
def product(db):
    product = ProductFactory()
    VariantFactory(product=product, stock=10)
    return product


@pytest.fixture
def variant(product):
    return product.variants.first()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def chromium_path():
    import shutil

    path = shutil.which("chromium") or os.environ.get("CHROMIUM_PATH")
    if not path:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    return path
