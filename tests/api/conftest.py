"""
Fixtures for the API: a JSON client, a small catalogue, and Cognito users
with real access tokens from moto's server (the fixtures of tests/accounts).
"""

import json
import uuid
from dataclasses import asdict

import pytest
from django.test import Client

from accounts import services as account_services
from tests.accounts.conftest import (  # noqa: F401 - fixtures used by name
    PASSWORD,
    _fast_password_hasher,
    aws_local,
    cognito,
    cognito_admin,
    make_cognito_user,
    moto_url,
)
from tests.factories import (
    CategoryFactory,
    ImageFactory,
    ProductFactory,
    VariantFactory,
    checkout_details,
)

API = "/api/v1"


class ApiClient(Client):
    """Sends and reads JSON; `headers` persist across calls (a token, a cart)."""

    def __init__(self, **headers):
        super().__init__()
        self.api_headers = dict(headers)

    def call(self, method: str, path: str, body=None, **headers):
        return self.generic(
            method,
            API + path,
            data=b"" if body is None else json.dumps(body),
            content_type="application/json",
            headers={**self.api_headers, **headers},
        )

    def get_json(self, path, **headers):
        return self.call("GET", path, **headers)

    def post_json(self, path, body=None, **headers):
        return self.call("POST", path, body, **headers)


@pytest.fixture
def api():
    return ApiClient()


@pytest.fixture
def shelf(db):
    """A category with a child, a product in each, sizes, a sale and images."""
    root = CategoryFactory(name="Clothing", slug="clothing")
    child = CategoryFactory(name="Jackets", slug="jackets", parent=root)
    jacket = ProductFactory(name="Waxed Jacket", slug="waxed-jacket", category=child)
    ImageFactory(product=jacket, alt="Front")
    small = VariantFactory(
        product=jacket,
        sku="WJ-S",
        options={"size": "S"},
        price="120.00",
        compare_at_price="150.00",
        stock=3,
    )
    large = VariantFactory(
        product=jacket, sku="WJ-L", options={"size": "L"}, price="120.00", stock=0
    )
    shirt = ProductFactory(name="Linen Shirt", slug="linen-shirt", category=root)
    shirt_variant = VariantFactory(product=shirt, sku="LS-M", price="40.00", stock=50)
    return {
        "root": root,
        "child": child,
        "jacket": jacket,
        "small": small,
        "large": large,
        "shirt": shirt,
        "shirt_variant": shirt_variant,
    }


# What a guest types at checkout, as JSON.
CHECKOUT = asdict(checkout_details(email="grace@example.com"))


def idempotency_key() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def bearer(db, make_cognito_user):  # noqa: F811
    """Sign a new Cognito user in (as a frontend would) and return its headers."""

    def sign_in(email="ada@example.com"):
        make_cognito_user(email=email)
        tokens = account_services.account_authenticate(email=email, password=PASSWORD)
        return {"Authorization": f"Bearer {tokens.access_token}"}

    return sign_in
