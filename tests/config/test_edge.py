"""What the app does behind CloudFront: the origin secret, request IDs, JSON logs."""

import json
import logging

import pytest
from django.test import override_settings

from config.requestlog import JsonFormatter, RequestLogMiddleware

pytestmark = pytest.mark.django_db


@override_settings(DJANGO_ORIGIN_SECRET="s3cret-from-cloudfront")
def test_only_requests_carrying_the_origin_secret_are_served(client):
    assert client.get("/").status_code == 403
    assert client.get("/", headers={"X-Origin-Verify": "wrong"}).status_code == 403
    served = client.get("/", headers={"X-Origin-Verify": "s3cret-from-cloudfront"})
    assert served.status_code == 200


@override_settings(DJANGO_ORIGIN_SECRET="s3cret-from-cloudfront")
def test_health_checks_need_no_origin_secret(client):
    assert client.get("/healthz/live").status_code == 200


def test_no_origin_secret_means_no_check(client):
    assert client.get("/healthz/live").status_code == 200
    assert client.get("/").status_code == 200


def test_the_request_id_is_cloudfronts_and_is_echoed(client):
    response = client.get("/healthz/live", headers={"X-Amz-Cf-Id": "cf-abc123=="})
    assert response["X-Request-ID"] == "cf-abc123=="
    assert len(client.get("/healthz/live")["X-Request-ID"]) == 32


def test_json_logs_carry_the_request_id_and_status(rf):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(JsonFormatter().format(record))

    handler = Keep()
    logger = logging.getLogger("config.requests")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        request = rf.get("/p/thing/", HTTP_X_AMZN_TRACE_ID="Root=1-abc")
        RequestLogMiddleware(lambda r: __import__("django").http.HttpResponse())(
            request
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    entry = json.loads(records[-1])
    assert entry["request_id"] == "Root=1-abc"
    assert (entry["method"], entry["path"], entry["status"]) == (
        "GET",
        "/p/thing/",
        200,
    )
    assert entry["level"] == "INFO" and entry["time"].endswith("Z")
    assert isinstance(entry["duration_ms"], float)
