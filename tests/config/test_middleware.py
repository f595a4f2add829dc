"""Site-wide response headers: CSP, Permissions-Policy, CORP."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def test_forms_may_post_only_to_the_shop(client):
    response = client.get("/")
    assert _policy(response)["form-action"] == ["'self'"]


def test_forms_may_also_reach_cognitos_hosted_ui_when_configured(settings):
    settings.COGNITO_DOMAIN = "https://shop.auth.eu-west-2.amazoncognito.com/"
    response = Client().get("/")
    assert _policy(response)["form-action"] == [
        "'self'",
        "https://shop.auth.eu-west-2.amazoncognito.com",
    ]


@pytest.mark.parametrize("path", ["/", "/healthz/live", "/cart/", "/no-such-page/"])
def test_every_response_refuses_browser_features_and_cross_site_embedding(client, path):
    response = client.get(path)
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Resource-Policy"] == "same-site"
