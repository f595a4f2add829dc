"""Sign-up never reveals whether an email already has an account."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_up(client, email):
    return client.post(
        reverse("accounts:signup"),
        {"email": email, "name": "Someone", "password": PASSWORD},
    )


def test_sign_up_answers_the_same_for_an_existing_account(client, make_cognito_user):
    owner = make_cognito_user(email="taken@example.com")
    new = _sign_up(client, "new@example.com")
    taken = _sign_up(client, owner)

    assert (taken.status_code, taken["Location"]) == (new.status_code, new["Location"])
    page = client.get(taken["Location"]).content.decode()
    assert "already exists" not in page
    # The real owner is told by email; nobody else learns anything.
    assert [m.to for m in mail.outbox] == [[owner]]
    assert reverse("accounts:forgot_password") in mail.outbox[0].body
