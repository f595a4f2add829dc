"""
Signing out, or being removed from staff, takes effect at once: tokens and
sessions issued before are refused, whatever Cognito's own expiry says.
"""

import time

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.cognito import _client
from accounts.middleware import SESSION_SYNCED_AT, SESSION_TOKENS
from accounts.models import User
from accounts.services import account_authenticate
from adminpanel.models import JobSwitch
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ME = reverse("accounts:api_me")


def _sign_in(client, email):
    response = client.post(
        reverse("accounts:login"), {"email": email, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client.session[SESSION_TOKENS]


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _next_second():
    # Token times are whole seconds: what is revoked was issued in an
    # earlier one (accounts.models.User.tokens_revoke).
    time.sleep(1.01 - time.time() % 1)


def test_a_bearer_token_is_refused_after_sign_out(client, make_cognito_user):
    email = make_cognito_user()
    tokens = account_authenticate(email=email, password=PASSWORD)
    _sign_in(client, email)
    assert client.get(ME, headers=_bearer(tokens.access_token)).status_code == 200
    _next_second()

    client.post(reverse("accounts:logout"))

    assert client.get(ME, headers=_bearer(tokens.access_token)).status_code == 401


def test_sign_out_revokes_the_refresh_token_with_cognito(client, make_cognito_user):
    email = make_cognito_user()
    session_tokens = _sign_in(client, email)
    calls = []
    cognito = _client(settings.AWS_ENDPOINT_URL, settings.COGNITO_TIMEOUT)

    def record(params, **kwargs):
        calls.append(params)

    cognito.meta.events.register(
        "provide-client-params.cognito-idp.RevokeToken", record
    )
    try:
        client.post(reverse("accounts:logout"))
    finally:
        cognito.meta.events.unregister(
            "provide-client-params.cognito-idp.RevokeToken", record
        )
    assert [c["Token"] for c in calls] == [session_tokens["refresh"]]


def _remove_from_staff(cognito, cognito_admin, email):
    cognito_admin.admin_remove_user_from_group(
        UserPoolId=cognito.user_pool_id, Username=email, GroupName="staff"
    )


def test_a_removed_staff_member_loses_the_dashboard_within_five_minutes(
    client, cognito, cognito_admin, make_cognito_user
):
    email = make_cognito_user(groups=["staff"])
    tokens = account_authenticate(email=email, password=PASSWORD)
    _sign_in(client, email)
    assert client.get(reverse("adminpanel:overview")).status_code == 200

    _remove_from_staff(cognito, cognito_admin, email)
    assert client.get(reverse("adminpanel:overview")).status_code == 200
    session = client.session
    session[SESSION_SYNCED_AT] -= 301  # five minutes on
    session.save()
    _next_second()

    response = client.get(reverse("adminpanel:overview"))
    assert response.status_code == 302  # signed out: demoted, session revoked
    assert not User.objects.get(email=email).is_staff
    assert client.get(ME, headers=_bearer(tokens.access_token)).status_code == 401


def test_a_staff_only_write_rechecks_the_group_at_once(
    client, cognito, cognito_admin, make_cognito_user
):
    email = make_cognito_user(groups=["staff"])
    _sign_in(client, email)
    _remove_from_staff(cognito, cognito_admin, email)

    url = reverse(
        "adminpanel:job_action",
        kwargs={"name": "analytics_rollup", "action": "disable"},
    )
    response = client.post(url)

    assert response.status_code in (302, 403)  # signed out, or refused
    assert not User.objects.get(email=email).is_staff
    assert not JobSwitch.objects.filter(name="analytics_rollup").exists()
