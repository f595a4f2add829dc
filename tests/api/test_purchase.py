"""
A whole purchase through the API alone, as a frontend makes it: search,
product, cart, checkout, order. As a guest, and as a Cognito user with a
Bearer token from the local stand-in.
"""

import pytest

from shop.models import Order
from tests.api.conftest import CHECKOUT, ApiClient, idempotency_key


def _buy(client: ApiClient, *, email: str) -> dict:
    hits = client.get_json("/search?q=shirt").json()["items"]
    product = client.get_json(f"/products/{hits[0]['slug']}").json()
    variant = next(v for v in product["variants"] if v["in_stock"])
    cart = client.post_json("/cart/lines", {"variant_id": variant["id"], "quantity": 2})
    assert cart.status_code == 201, cart.json()
    if cart.json()["token"]:
        client.api_headers["X-Cart-Token"] = cart.json()["token"]
    options = client.get_json("/checkout/options").json()
    order = client.post_json(
        "/checkout",
        {
            **CHECKOUT,
            "email": email,
            "shipping_method": options["shipping_methods"][1]["code"],
            "payment_method": options["payment_methods"][0]["code"],
        },
        **{"Idempotency-Key": idempotency_key()},
    )
    assert order.status_code == 201, order.json()
    return order.json()


def test_a_guest_buys_through_the_api_alone(api, shelf):
    order = _buy(api, email="grace@example.com")
    assert order["total"] == "89.95"  # 2 × 40.00 + express 9.95
    again = api.post_json(
        "/orders/lookup", {"number": order["number"], "email": "grace@example.com"}
    )
    assert again.json()["lines"][0]["sku"] == "LS-M"


@pytest.mark.django_db(transaction=True)
def test_a_cognito_user_buys_with_a_bearer_token(shelf, bearer):
    client = ApiClient(**bearer("ada@example.com"))
    assert client.get_json("/account/me").json()["email"] == "ada@example.com"
    order = _buy(client, email="ada@example.com")
    assert Order.objects.get(number=order["number"]).user.email == "ada@example.com"
    mine = client.get_json("/orders").json()["items"]
    assert [o["number"] for o in mine] == [order["number"]]
    assert client.get_json(f"/orders/{order['number']}").json()["total"] == "89.95"
