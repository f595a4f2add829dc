"""Liveness and readiness answers."""

import pytest
from django.db import connection

from analytics.services import recorder_get

pytestmark = pytest.mark.django_db

DOWN_CACHE = {
    "BACKEND": "config.cache.BreakerRedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
}


def test_healthz_reports_database_and_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok"}


def test_healthz_reads_degraded_with_200_when_the_cache_is_down(client, settings):
    settings.CACHES = {**settings.CACHES, "default": DOWN_CACHE}
    response = client.get("/healthz")
    # The shop serves without Redis: a load balancer must keep it.
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["cache"] == "degraded"


def test_healthz_reads_degraded_while_redis_is_paused(client, settings, private_redis):
    settings.CACHES = {
        **settings.CACHES,
        "default": {**DOWN_CACHE, "LOCATION": private_redis.url},
    }
    private_redis.pause()
    try:
        first, second = client.get("/healthz"), client.get("/healthz")
    finally:
        private_redis.resume()
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["checks"]["cache"] == "degraded"


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused by 10.0.0.5")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error"
    assert "10.0.0.5" not in response.content.decode()


def test_public_health_carries_no_error_text_staff_get_details(
    client, settings, staff_user
):
    settings.CACHES = {**settings.CACHES, "default": DOWN_CACHE}
    sink = recorder_get().sinks[0]
    sink.last_error = "OperationalError: password authentication failed for shop"

    public = client.get("/healthz").content.decode()
    assert "password" not in public
    assert "Error" not in public
    assert "details" not in public

    client.force_login(staff_user)
    details = client.get("/healthz").json()["details"]
    assert details["cache"]
    sinks = details["analytics"]["sinks"]
    assert "password authentication" in sinks[sink.name]["last_error"]


def test_liveness_answers_without_touching_the_database(
    client, db, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/healthz/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
