"""Token refresh in CognitoSessionMiddleware while Cognito is down."""

import pytest
from django.urls import reverse

from accounts.middleware import SESSION_REFRESH_FAILED, SESSION_TOKENS
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _signed_in_with_expired_tokens(client, email):
    client.post(reverse("accounts:login"), {"email": email, "password": PASSWORD})
    session = client.session
    session[SESSION_TOKENS] = {**session[SESSION_TOKENS], "expires_at": 0}
    session.save()


def test_an_outage_costs_one_refresh_attempt_per_minute(
    client, make_cognito_user, cognito, settings, failing_endpoint
):
    _signed_in_with_expired_tokens(client, make_cognito_user())
    settings.AWS_ENDPOINT_URL = failing_endpoint.url
    settings.COGNITO_USER_POOL_ID = cognito.user_pool_id
    settings.COGNITO_CLIENT_ID = cognito.client_id
    profile = reverse("accounts:profile")

    assert client.get(profile).status_code == 200
    # One request, one attempt: the refresh client does not retry.
    assert failing_endpoint.hits == 1
    assert client.get(profile).status_code == 200
    assert failing_endpoint.hits == 1
    assert client.session[SESSION_TOKENS]["expires_at"] == 0

    # A minute later the refresh is tried again.
    session = client.session
    session[SESSION_REFRESH_FAILED] -= 61
    session.save()
    assert client.get(profile).status_code == 200
    assert failing_endpoint.hits == 2


def test_a_refresh_after_the_outage_clears_the_failure_mark(
    client, make_cognito_user, cognito, settings
):
    _signed_in_with_expired_tokens(client, make_cognito_user())
    session = client.session
    session[SESSION_REFRESH_FAILED] = 0
    session.save()
    assert client.get(reverse("accounts:profile")).status_code == 200
    assert client.session[SESSION_TOKENS]["expires_at"] > 0
    assert SESSION_REFRESH_FAILED not in client.session
