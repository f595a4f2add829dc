"""Checkout, orders and the guest lookup through the API."""

import pytest

from shop import selectors
from shop.models import Order, ProductVariant
from tests.api.conftest import CHECKOUT, ApiClient, idempotency_key
from tests.factories import OrderFactory, OrderLineFactory, UserFactory


@pytest.fixture
def guest(api, shelf):
    """A cookie-less guest with a shirt in a token cart."""
    token = api.post_json(
        "/cart/lines", {"variant_id": shelf["shirt_variant"].pk, "quantity": 2}
    ).json()["token"]
    return ApiClient(**{"X-Cart-Token": token})


def test_checkout_places_the_order_and_empties_the_cart(guest, shelf):
    response = guest.post_json(
        "/checkout", CHECKOUT, **{"Idempotency-Key": idempotency_key()}
    )
    assert response.status_code == 201
    order = response.json()
    assert order["total"] == "84.95" and order["status"] == "pending"
    assert order["lines"][0]["sku"] == "LS-M" and order["lines"][0]["quantity"] == 2
    assert ProductVariant.objects.get(sku="LS-M").stock == 48
    assert guest.get_json("/cart").json()["lines"] == []


def test_a_retried_checkout_returns_the_same_order(guest, shelf):
    key = idempotency_key()
    first = guest.post_json("/checkout", CHECKOUT, **{"Idempotency-Key": key}).json()
    again = guest.post_json("/checkout", CHECKOUT, **{"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.json()["number"] == first["number"]
    assert Order.objects.count() == 1


def test_the_same_key_from_another_client_is_another_purchase(api, guest, shelf):
    key = idempotency_key()
    guest.post_json("/checkout", CHECKOUT, **{"Idempotency-Key": key})
    other = ApiClient(
        **{
            "X-Cart-Token": api.post_json(
                "/cart/lines", {"variant_id": shelf["shirt_variant"].pk}
            ).json()["token"]
        }
    )
    placed = other.post_json("/checkout", CHECKOUT, **{"Idempotency-Key": key})
    assert placed.status_code == 201
    assert Order.objects.count() == 2


def test_checkout_needs_an_idempotency_key(guest):
    response = guest.post_json("/checkout", CHECKOUT)
    assert response.status_code == 422
    assert any("idempotency" in e["field"].lower() for e in response.json()["errors"])


def test_checkout_form_rules_apply(guest):
    response = guest.post_json(
        "/checkout",
        {**CHECKOUT, "email": "nope", "country": "ZZ", "shipping_method": "drone"},
        **{"Idempotency-Key": idempotency_key()},
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"email", "country", "shipping_method"}


def test_an_empty_cart_cannot_be_ordered(api, shelf):
    client = ApiClient(**{"X-Cart-Token": api.post_json("/cart").json()["token"]})
    response = client.post_json(
        "/checkout", CHECKOUT, **{"Idempotency-Key": idempotency_key()}
    )
    assert response.status_code == 409
    assert response.json()["problems"] == ["Your cart is empty."]


def test_stock_gone_since_adding_is_a_checkout_problem(guest, shelf):
    ProductVariant.objects.filter(sku="LS-M").update(stock=1)
    response = guest.post_json(
        "/checkout", CHECKOUT, **{"Idempotency-Key": idempotency_key()}
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "urn:northwind:problem:checkout-rejected"
    assert "Only 1" in problem["problems"][0]


def test_checkout_records_the_purchase_event(
    guest, monkeypatch, django_capture_on_commit_callbacks
):
    events = []
    monkeypatch.setattr(
        "shop.services.event_record", lambda **kwargs: events.append(kwargs["name"])
    )
    with django_capture_on_commit_callbacks(execute=True):
        guest.post_json("/checkout", CHECKOUT, **{"Idempotency-Key": idempotency_key()})
    assert "purchase" in events


def test_checkout_options_list_methods_and_countries(api):
    body = api.get_json("/checkout/options").json()
    assert [m["code"] for m in body["shipping_methods"]] == ["standard", "express"]
    assert body["payment_methods"][0]["code"] == "cod"
    assert {"code": "GB", "label": "United Kingdom", "price": None} in body["countries"]


def test_guest_lookup_by_number_and_email(api, shelf):
    order = OrderFactory(email="buyer@example.com")
    OrderLineFactory(order=order)
    found = api.post_json(
        "/orders/lookup", {"number": order.number.lower(), "email": "BUYER@example.com"}
    )
    assert found.status_code == 200 and found.json()["number"] == order.number
    missed = api.post_json(
        "/orders/lookup", {"number": order.number, "email": "other@example.com"}
    )
    assert missed.status_code == 404


def test_guest_lookup_is_rate_limited_with_retry_after(api, settings, db):
    # Lookups that find nothing count as failed sign-ins at that email.
    settings.ACCOUNTS_SIGNIN_ACCOUNT_LIMIT = 2
    for _ in range(2):
        missed = api.post_json(
            "/orders/lookup", {"number": "NW-X", "email": "a@example.com"}
        )
        assert missed.status_code == 404
    response = api.post_json(
        "/orders/lookup", {"number": "NW-X", "email": "a@example.com"}
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["type"] == "urn:northwind:problem:rate-limited"


def test_orders_need_sign_in(api):
    response = api.get_json("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_bearer_token_is_401_not_a_guest(api, bearer):
    bearer()  # the pool exists; this token is not one of its
    response = api.get_json("/cart", Authorization="Bearer not.a.token")
    assert response.status_code == 401


def test_customer_sees_own_orders_and_not_anothers(bearer, db):
    client = ApiClient(**bearer("ada@example.com"))
    client.get_json("/account/me")  # links the local user
    from accounts.models import User

    ada = User.objects.get(email="ada@example.com")
    mine = OrderFactory(user=ada)
    OrderLineFactory(order=mine)
    theirs = OrderFactory(user=UserFactory())
    listing = client.get_json("/orders").json()
    assert [o["number"] for o in listing["items"]] == [mine.number]
    assert listing["items"][0]["item_count"] == (
        selectors.order_history(user=ada)[0].item_count
    )
    assert client.get_json(f"/orders/{mine.number}").status_code == 200
    assert client.get_json(f"/orders/{theirs.number}").status_code == 404


def test_order_list_pages_and_queries_stay_flat(
    client, db, django_assert_max_num_queries
):
    user = UserFactory()
    client.force_login(user)
    for _ in range(25):
        OrderLineFactory(order=OrderFactory(user=user))
    with django_assert_max_num_queries(4):
        first = client.get("/api/v1/orders").json()
    assert len(first["items"]) == 20 and first["next_cursor"]
    second = client.get(f"/api/v1/orders?cursor={first['next_cursor']}").json()
    assert len(second["items"]) == 5 and second["next_cursor"] is None


def test_order_detail_queries_do_not_grow_with_lines(
    client, db, django_assert_max_num_queries
):
    user = UserFactory()
    client.force_login(user)
    order = OrderFactory(user=user)
    for _ in range(10):
        OrderLineFactory(order=order)
    with django_assert_max_num_queries(4):
        body = client.get(f"/api/v1/orders/{order.number}").json()
    assert len(body["lines"]) == 10
