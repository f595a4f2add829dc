"""
The API's HTTP behaviour: JSON everywhere under /api/ (404, 405, CSRF, bad
JSON), CORS from the setting, the docs page under the strict CSP, and the
committed OpenAPI document matching the code.
"""

import json
from pathlib import Path

import pytest
from django.test import Client
from ninja.responses import NinjaJSONEncoder

from shop.api.main import api as shop_api

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def _is_problem(response, status, kind):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == f"urn:northwind:problem:{kind}"


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v2/cart", "/api/"])
def test_unknown_paths_under_api_are_json_404s(client, db, path):
    _is_problem(client.get(path), 404, "not-found")


def test_unknown_paths_refuse_html_even_for_posts_without_csrf(db):
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["sessionid"] = "x" * 32
    _is_problem(browser.post("/api/v1/nothing"), 404, "not-found")


def test_a_wrong_method_is_a_json_405_with_allow(client, db):
    response = client.put("/api/v1/cart")
    _is_problem(response, 405, "method-not-allowed")
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"text"', b"\xff\xfe"])
def test_bodies_that_are_not_the_schema_are_4xx_problems(client, db, body):
    response = client.generic(
        "POST", "/api/v1/cart/lines", body, content_type="application/json"
    )
    assert response.status_code in {400, 422}
    assert response["Content-Type"] == "application/problem+json"


def test_huge_ids_are_422_not_a_database_error(client, db):
    _is_problem(client.delete(f"/api/v1/cart/lines/{2**70}"), 422, "validation-failed")


def test_cors_allows_only_the_configured_origin(client, db, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    allowed = client.options(
        "/api/v1/cart",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, idempotency-key",
        },
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "idempotency-key" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed
    other = client.get("/api/v1/categories", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other


def test_no_wildcard_origin_is_ever_configured(monkeypatch):
    import environ

    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "*,https://app.example.com")
    origins = [o for o in environ.Env().list("CORS_ALLOWED_ORIGINS") if o != "*"]
    assert origins == ["https://app.example.com"]


def test_docs_page_uses_only_local_static_files_under_the_csp(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "cdn" not in html.lower()
    assert "<script>" not in html  # no inline script for the CSP to block
    assert "/static/ninja/swagger-ui-bundle" in html


def test_openapi_document_is_served(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/checkout" in schema["paths"]


def test_committed_openapi_matches_the_code():
    committed = json.loads(OPENAPI.read_text())
    current = json.loads(
        json.dumps(shop_api.get_openapi_schema(), cls=NinjaJSONEncoder)
    )
    assert committed == current, (
        "docs/openapi.json is out of date: run `python manage.py "
        "export_openapi_schema --api shop.api.main.api --indent 2 --sorted "
        "--output docs/openapi.json`"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_docs_page_renders_in_chromium_with_no_csp_violation(
    live_server, chromium_path
):
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS

    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(live_server.url + "/api/v1/docs", wait_until="networkidle")
        page.wait_for_selector(".opblock", timeout=15000)
        operations = page.locator(".opblock").count()
        browser.close()
    assert operations >= 15
    assert errors == []
