"""Cart endpoints: token carts, session carts, user carts, merge on sign-in."""

import pytest

from shop.models import Cart
from tests.api.conftest import ApiClient
from tests.factories import ProductFactory, UserFactory, VariantFactory


def test_a_guest_without_cookies_gets_a_token_cart(api, shelf):
    created = api.post_json("/cart")
    assert created.status_code == 201
    token = created.json()["token"]
    assert len(token) >= 40 and created["Cache-Control"] == "private, no-store"
    added = api.post_json(
        "/cart/lines",
        {"variant_id": shelf["shirt_variant"].pk, "quantity": 2},
        **{"X-Cart-Token": token},
    )
    assert added.status_code == 201
    body = api.get_json("/cart", **{"X-Cart-Token": token}).json()
    assert body["count"] == 2 and body["subtotal"] == "80.00"
    assert body["lines"][0]["product_slug"] == "linen-shirt"


def test_adding_without_a_cart_makes_one_and_returns_its_token(api, shelf):
    body = api.post_json(
        "/cart/lines", {"variant_id": shelf["shirt_variant"].pk}
    ).json()
    assert body["token"] and body["count"] == 1
    assert Cart.objects.get(token=body["token"]).lines.count() == 1


def test_set_quantity_and_remove_a_line(api, shelf):
    token = api.post_json("/cart").json()["token"]
    client = ApiClient(**{"X-Cart-Token": token})
    line = client.post_json(
        "/cart/lines", {"variant_id": shelf["shirt_variant"].pk}
    ).json()["lines"][0]
    assert (
        client.call("PATCH", f"/cart/lines/{line['id']}", {"quantity": 5}).json()[
            "count"
        ]
        == 5
    )
    assert client.call("DELETE", f"/cart/lines/{line['id']}").json()["lines"] == []
    again = client.call("PATCH", f"/cart/lines/{line['id']}", {"quantity": 0})
    assert again.status_code == 404


def test_quantity_zero_removes_the_line(api, shelf):
    client = ApiClient(**{"X-Cart-Token": api.post_json("/cart").json()["token"]})
    line = client.post_json(
        "/cart/lines", {"variant_id": shelf["shirt_variant"].pk}
    ).json()["lines"][0]
    body = client.call("PATCH", f"/cart/lines/{line['id']}", {"quantity": 0}).json()
    assert body["lines"] == []


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        ({"variant_id": 0}, "validation-failed", 422),
        ({"variant_id": "x"}, "validation-failed", 422),
        ({"quantity": 1}, "validation-failed", 422),
        ({"variant_id": 999999}, "not-found", 404),
    ],
)
def test_bad_additions_are_problems(api, shelf, body, kind, status):
    response = api.post_json("/cart/lines", body)
    assert response.status_code == status
    assert response.json()["type"] == f"urn:northwind:problem:{kind}"


def test_stock_rules_are_those_of_the_site(api, shelf):
    response = api.post_json(
        "/cart/lines", {"variant_id": shelf["small"].pk, "quantity": 4}
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "urn:northwind:problem:cart-rejected"
    assert "Only 3" in problem["detail"]
    sold_out = api.post_json("/cart/lines", {"variant_id": shelf["large"].pk})
    assert "sold out" in sold_out.json()["detail"]


def test_an_unknown_cart_token_is_404(api, shelf):
    response = api.get_json("/cart", **{"X-Cart-Token": "not-a-token"})
    assert response.status_code == 404


def test_another_carts_line_is_not_found(api, shelf):
    theirs = ApiClient(**{"X-Cart-Token": api.post_json("/cart").json()["token"]})
    line = theirs.post_json(
        "/cart/lines", {"variant_id": shelf["shirt_variant"].pk}
    ).json()["lines"][0]
    mine = ApiClient(**{"X-Cart-Token": api.post_json("/cart").json()["token"]})
    assert mine.call("DELETE", f"/cart/lines/{line['id']}").status_code == 404


def test_cart_changes_record_add_and_remove_events(api, shelf, monkeypatch):
    events = []
    monkeypatch.setattr(
        "shop.services.event_record", lambda **kwargs: events.append(kwargs["name"])
    )
    client = ApiClient(**{"X-Cart-Token": api.post_json("/cart").json()["token"]})
    line = client.post_json(
        "/cart/lines", {"variant_id": shelf["shirt_variant"].pk}
    ).json()["lines"][0]
    client.call("DELETE", f"/cart/lines/{line['id']}")
    assert events == ["add_to_cart", "remove_from_cart"]


def test_a_browser_session_cart_is_the_sites_cart(client, shelf):
    # The site's own form puts a line in the session's cart...
    client.get("/")
    csrf = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    client.post(
        "/cart/add/",
        {
            "variant": shelf["shirt_variant"].pk,
            "quantity": 1,
            "csrfmiddlewaretoken": csrf,
        },
    )
    # ...and the API, called with the same cookies, reads that cart.
    body = client.get("/api/v1/cart").json()
    assert body["count"] == 1 and body["token"] is None


def test_session_writes_need_the_csrf_token(shelf):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.get("/")
    browser.cookies["sessionid"] = "x" * 32
    refused = browser.post(
        "/api/v1/cart/lines",
        {"variant_id": shelf["shirt_variant"].pk},
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:northwind:problem:csrf-failed"
    token = browser.cookies["csrftoken"].value
    allowed = browser.post(
        "/api/v1/cart/lines",
        {"variant_id": shelf["shirt_variant"].pk},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert allowed.status_code == 201


def test_signed_in_session_user_has_their_own_cart(client, shelf):
    user = UserFactory()
    client.force_login(user)
    client.get("/")
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/cart/lines",
        {"variant_id": shelf["shirt_variant"].pk},
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201
    assert Cart.objects.get(user=user).lines.count() == 1


def test_bearer_request_with_a_cart_token_adopts_the_guest_cart(api, shelf, bearer):
    token = api.post_json(
        "/cart/lines", {"variant_id": shelf["shirt_variant"].pk, "quantity": 2}
    ).json()["token"]
    signed_in = ApiClient(**bearer())
    body = signed_in.get_json("/cart", **{"X-Cart-Token": token}).json()
    assert body["count"] == 2 and body["token"] is None
    assert not Cart.objects.filter(token=token).exists()
    # Later calls without the token see the same (now the user's) cart.
    assert signed_in.get_json("/cart").json()["count"] == 2


def test_cart_queries_do_not_grow_with_lines(
    api, category, django_assert_max_num_queries
):
    client = ApiClient(**{"X-Cart-Token": api.post_json("/cart").json()["token"]})

    def add(n):
        for _ in range(n):
            variant = VariantFactory(product=ProductFactory(category=category))
            client.post_json("/cart/lines", {"variant_id": variant.pk})

    add(2)
    with django_assert_max_num_queries(3):
        client.get_json("/cart")
    add(15)
    with django_assert_max_num_queries(3):
        client.get_json("/cart")
    variant = VariantFactory(product=ProductFactory(category=category))
    with django_assert_max_num_queries(12):
        client.post_json("/cart/lines", {"variant_id": variant.pk})
