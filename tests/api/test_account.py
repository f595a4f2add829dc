"""Account endpoints: me and addresses, for Bearer and session callers."""

import pytest

from accounts.models import Address
from tests.api.conftest import ApiClient
from tests.factories import UserFactory

ADDRESS = {
    "label": "Home",
    "full_name": "Ada Lovelace",
    "address_line1": "12 St James's Square",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
}


@pytest.fixture
def ada(client, db):
    user = UserFactory(email="ada@example.com", name="Ada")
    client.force_login(user)
    client.get("/")
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return user


def test_me_with_a_bearer_token_links_the_cognito_user(bearer):
    client = ApiClient(**bearer("grace@example.com"))
    body = client.get_json("/account/me").json()
    assert body["email"] == "grace@example.com" and body["is_staff"] is False


def test_me_needs_sign_in(api, db):
    assert api.get_json("/account/me").status_code == 401


def test_address_lifecycle(client, ada):
    created = client.post(
        "/api/v1/account/addresses", ADDRESS, content_type="application/json"
    )
    assert created.status_code == 201
    address = created.json()
    assert address["is_default"] is True
    assert address["address_lines"][-1] == "United Kingdom"
    second = client.post(
        "/api/v1/account/addresses",
        {**ADDRESS, "label": "Work", "is_default": True},
        content_type="application/json",
    ).json()
    listing = client.get("/api/v1/account/addresses").json()
    assert [a["label"] for a in listing] == ["Work", "Home"]
    updated = client.put(
        f"/api/v1/account/addresses/{address['id']}",
        {**ADDRESS, "city": "Bath"},
        content_type="application/json",
    )
    assert updated.json()["city"] == "Bath"
    assert client.delete(f"/api/v1/account/addresses/{second['id']}").status_code == 204
    assert Address.objects.get(pk=address["id"]).is_default is True


def test_address_form_rules_apply(client, ada):
    response = client.post(
        "/api/v1/account/addresses",
        {**ADDRESS, "country": "XX", "postcode": ""},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"country", "postcode"}


def test_another_customers_address_is_not_found(client, ada):
    other = Address.objects.create(user=UserFactory(), **ADDRESS)
    assert (
        client.put(
            f"/api/v1/account/addresses/{other.pk}",
            ADDRESS,
            content_type="application/json",
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/account/addresses/{other.pk}").status_code == 404
    assert Address.objects.filter(pk=other.pk).exists()
