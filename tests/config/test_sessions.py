"""
Sessions are written to the database and read from Redis, and keep working
from the database alone while Redis is away (config/sessions.py).

Redis is a private redis-server; "away" is a closed port, as in
tests/config/test_cache.py. The tests commit (transaction=True): the cache
is written after the commit, as in production.
"""

import socket

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from config import sessions
from config.sessions import SessionStore
from shop.models import Cart

pytestmark = pytest.mark.django_db(transaction=True)


def _cache_at(settings, url: str) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "config.cache.BreakerRedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.3,
                "SOCKET_TIMEOUT": 0.3,
                "BREAKER_BACKOFF": 60,
            },
        },
    }


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture(autouse=True)
def _no_stale_keys():
    sessions._stale.clear()
    yield
    sessions._stale.clear()


@pytest.fixture
def redis_cache(private_redis, settings):
    _cache_at(settings, private_redis.url)
    return private_redis


@pytest.fixture
def redis_away(settings):
    _cache_at(settings, _closed_port_url())


def _in_redis(url: str, session_key: str) -> bool:
    """Whether Redis holds a copy of the session, asked past Django's cache."""
    pattern = f"*{SessionStore.cache_key_prefix}{session_key}"
    return bool(redis.Redis.from_url(url).keys(pattern))


def _session_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "django_session" in q["sql"]]


def _staff_sign_in(client) -> None:
    User.objects.create_superuser(email="root@example.com", password="local-Pass-123")
    response = client.post(
        reverse("accounts:local_login"),
        {"username": "root@example.com", "password": "local-Pass-123"},
    )
    assert response.status_code == 302, response.content[:500]


def test_a_session_written_is_read_back_without_a_query(
    redis_cache, django_assert_num_queries
):
    session = SessionStore()
    session["cart_id"] = 7
    session.save()

    with django_assert_num_queries(0):
        assert SessionStore(session.session_key)["cart_id"] == 7
    assert Session.objects.filter(session_key=session.session_key).exists()
    assert _in_redis(redis_cache.url, session.session_key)


def test_a_shopper_with_a_cart_is_served_without_reading_the_session_table(
    redis_cache, variant
):
    client = Client()
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("shop:cart"))

    assert response.status_code == 200
    assert variant.product.name in response.content.decode()
    assert _session_queries(queries) == []


def test_with_redis_unreachable_the_cart_and_sign_in_work_from_the_database(
    redis_away, variant
):
    client = Client()
    added = client.post(
        reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 2}
    )
    assert added.status_code == 302
    page = client.get(reverse("shop:cart"))
    assert page.status_code == 200
    assert variant.product.name in page.content.decode()

    # Signing in reads the cart's id from the session (in the database)
    # and merges the cart into the user's.
    _staff_sign_in(client)
    cart = Cart.objects.get(user__email="root@example.com")
    assert [(line.variant_id, line.quantity) for line in cart.lines.all()] == [
        (variant.pk, 2)
    ]
    assert client.get(reverse("shop:cart")).status_code == 200
    assert cache.breaker.state == "open"  # Redis was never reached


def test_a_session_signed_out_is_gone_from_the_database_and_redis(redis_cache):
    client = Client()
    _staff_sign_in(client)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert _in_redis(redis_cache.url, key)

    assert client.post(reverse("accounts:logout")).status_code == 302

    assert not Session.objects.filter(session_key=key).exists()
    assert not _in_redis(redis_cache.url, key)
    old = Client()
    old.cookies[django_settings.SESSION_COOKIE_NAME] = key
    assert old.get(reverse("accounts:account")).status_code == 302


def test_a_session_signed_out_while_redis_was_away_is_not_brought_back(
    private_redis, settings
):
    _cache_at(settings, private_redis.url)
    client = Client()
    _staff_sign_in(client)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    _cache_at(settings, _closed_port_url())
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()

    # Redis is back, still holding the signed-in copy the sign-out missed.
    _cache_at(settings, private_redis.url)
    assert _in_redis(private_redis.url, key)
    old = Client()
    old.cookies[django_settings.SESSION_COOKIE_NAME] = key
    assert old.get(reverse("accounts:account")).status_code == 302
    assert not _in_redis(private_redis.url, key)
