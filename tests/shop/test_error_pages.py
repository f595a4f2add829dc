"""Outside DEBUG, every error a shopper meets is one of the shop's own pages."""

import pytest
from django.template.loader import render_to_string
from django.test import Client

from shop import selectors
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_crash_shows_the_shops_500_page_not_a_traceback(monkeypatch, settings):
    settings.DEBUG = False

    def broken(**kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(selectors, "home_sections", broken)
    response = Client(raise_request_exception=False).get("/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "Traceback" not in body and "database is locked" not in body


def test_a_missing_page_shows_the_shops_404_page(client, settings):
    settings.DEBUG = False

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "We can’t find that page" in response.content.decode()


def test_a_refusal_shows_the_shops_403_page(client, settings):
    settings.DEBUG = False
    client.force_login(UserFactory(email="shopper@example.com"))

    response = client.get("/dashboard/")

    assert response.status_code == 403
    body = response.content.decode()
    assert "This page isn’t open to you" in body
    assert "shopper@example.com" in body
    assert 'class="site-header' in body or "<header" in body


def test_the_500_page_is_styled_and_fits_a_phone_without_the_database(settings):
    settings.DEBUG = False

    body = render_to_string("500.html")

    assert (
        '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    )
    assert "/static/css/shop." in body
    assert 'class="site-header"' in body


def test_under_debug_the_technical_error_pages_may_style_themselves(
    monkeypatch, settings
):
    settings.DEBUG = True

    def broken(**kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(selectors, "home_sections", broken)
    client = Client(raise_request_exception=False)
    crash = client.get("/")
    missing = client.get("/no-such-page/")
    fine = client.get("/cart/")

    for response in (crash, missing):
        policy = response["Content-Security-Policy"]
        assert "style-src 'self' 'unsafe-inline'" in policy
        assert "script-src 'self' 'unsafe-inline'" in policy
    assert "unsafe-inline" not in fine["Content-Security-Policy"]


def test_outside_debug_error_pages_keep_the_strict_policy(client, settings):
    settings.DEBUG = False

    response = client.get("/no-such-page/")

    assert "unsafe-inline" not in response["Content-Security-Policy"]
