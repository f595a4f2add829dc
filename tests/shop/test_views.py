import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from shop.models import Cart, Order, Product, ProductVariant
from tests.factories import (
    CategoryFactory,
    OrderFactory,
    ProductFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

CHECKOUT = {
    "email": "guest@example.com",
    "full_name": "Grace Guest",
    "address_line1": "1 High Street",
    "city": "Leeds",
    "postcode": "LS1 4AP",
    "country": "GB",
    "shipping_method": "standard",
    "payment_method": "cod",
    "checkout_token": "token-" + "a" * 20,
}


def add(client, variant, quantity=1):
    return client.post(
        reverse("shop:cart_add"), {"variant": variant.pk, "quantity": quantity}
    )


def place_order(client, variant, **overrides):
    add(client, variant)
    return client.post(reverse("shop:checkout"), CHECKOUT | overrides)


def test_catalogue_pages_answer(client, product):
    for url in [
        reverse("shop:home"),
        product.category.get_absolute_url(),
        product.get_absolute_url(),
        reverse("shop:search") + "?q=product",
        reverse("shop:cart"),
        "/robots.txt",
        "/sitemap.xml",
    ]:
        assert client.get(url).status_code == 200, url


def test_category_lists_products_of_descendants(client):
    parent = CategoryFactory(name="Clothing")
    child = CategoryFactory(parent=parent, name="Shirts")
    grandchild = CategoryFactory(parent=child, name="Oxford")
    deep = VariantFactory(
        product=ProductFactory(category=grandchild, name="Deep Shirt")
    )
    elsewhere = VariantFactory(product=ProductFactory(name="Other Thing"))

    body = client.get(parent.get_absolute_url()).content.decode()

    assert deep.product.name in body
    assert elsewhere.product.name not in body


def test_category_filters_by_price_and_stock_and_sorts(client, category):
    cheap = VariantFactory(
        product=ProductFactory(category=category, name="Cheap"), price=5
    )
    dear = VariantFactory(
        product=ProductFactory(category=category, name="Dear"), price=50
    )
    VariantFactory(
        product=ProductFactory(category=category, name="Gone"), price=20, stock=0
    )
    url = category.get_absolute_url()

    body = client.get(url, {"sort": "price_desc"}).content.decode()
    assert body.index(dear.product.name) < body.index(cheap.product.name)
    body = client.get(url, {"min_price": "10"}).content.decode()
    assert "Dear" in body and "Cheap" not in body
    body = client.get(url, {"in_stock": "on"}).content.decode()
    assert "Gone" not in body and "Cheap" in body
    # Nonsense filters are ignored, never a 500.
    assert (
        client.get(url, {"min_price": "abc", "sort": "evil", "page": "x"}).status_code
        == 200
    )


def test_category_paginates_24_per_page(client, category):
    for i in range(30):
        VariantFactory(product=ProductFactory(category=category, name=f"Item {i:02d}"))
    first = client.get(category.get_absolute_url(), {"sort": "newest"})
    assert len(first.context["listing"].products) == 24
    second = client.get(category.get_absolute_url(), {"sort": "newest", "page": 2})
    assert len(second.context["listing"].products) == 6


def test_unknown_slugs_are_404(client):
    assert client.get("/c/no-such-thing/").status_code == 404
    assert client.get("/p/no-such-thing/").status_code == 404


def test_inactive_product_is_404(client):
    product = VariantFactory(product=ProductFactory(is_active=False)).product
    assert client.get(product.get_absolute_url()).status_code == 404


def test_product_page_has_seo_metadata(client, product):
    body = client.get(product.get_absolute_url()).content.decode()
    assert f"<title>{product.name}" in body
    assert '<meta name="description"' in body
    assert (
        f'rel="canonical" href="http://testserver{product.get_absolute_url()}"' in body
    )
    data = json.loads(
        re.search(
            r'<script type="application/ld\+json"[^>]*>(.*?)</script>', body, re.S
        ).group(1)
    )
    assert data["@type"] == "Product"
    assert data["name"] == product.name


@pytest.mark.parametrize(
    "quantity", ["-1", "0", "100000000000000000000", "abc", "", "1.5"]
)
def test_bad_quantities_get_a_form_error_not_a_500(client, variant, quantity):
    response = client.post(
        reverse("shop:cart_add"),
        {"variant": variant.pk, "quantity": quantity},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages, "a message explains the problem"
    assert not Cart.objects.filter(lines__isnull=False).exists()


def test_tampered_variant_id_is_404(client):
    response = client.post(reverse("shop:cart_add"), {"variant": 999999, "quantity": 1})
    assert response.status_code == 404


def test_quantity_above_stock_is_refused_with_a_message(client, variant):
    response = add(client, variant, quantity=11)
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert "Only 10" in follow.content.decode()


def test_cart_update_and_remove(client, variant):
    add(client, variant, 2)
    line = Cart.objects.get().lines.get()
    client.post(reverse("shop:cart_update", args=[line.pk]), {"quantity": 4})
    line.refresh_from_db()
    assert line.quantity == 4
    response = client.post(
        reverse("shop:cart_update", args=[line.pk]), {"quantity": "-3"}
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.quantity == 4
    client.post(reverse("shop:cart_remove", args=[line.pk]))
    assert not Cart.objects.get().lines.exists()


def test_someone_elses_cart_line_is_404(client, variant):
    other = Client()
    add(other, variant)
    line = Cart.objects.get().lines.get()
    add(client, VariantFactory())
    assert client.post(reverse("shop:cart_remove", args=[line.pk])).status_code == 404
    assert (
        client.post(
            reverse("shop:cart_update", args=[line.pk]), {"quantity": 1}
        ).status_code
        == 404
    )


def test_mini_cart_count_in_header(client, variant):
    add(client, variant, 3)
    # A page rendered for the visitor shows it; a shared one gets it from
    # the header cookie (tests/shop/test_pagecache.py).
    page = client.get(reverse("shop:cart"))
    assert page.context["header"].count == 3
    assert 'data-count="3"' in page.content.decode()


def test_writes_need_csrf(variant):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1}
    )
    assert response.status_code == 403


def test_cart_writes_are_post_only(client, variant):
    assert client.get(reverse("shop:cart_add")).status_code == 405


def test_guest_checkout_places_the_order_and_shows_it(client, variant):
    response = place_order(client, variant)
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    page = client.get(order.get_absolute_url())
    assert page.status_code == 200
    assert order.number in page.content.decode()
    assert ProductVariant.objects.get(pk=variant.pk).stock == 9


def test_double_submit_places_one_order(client, variant):
    place_order(client, variant)
    again = client.post(reverse("shop:checkout"), CHECKOUT)
    # The cart is now empty: the shopper is sent back to it, not charged twice.
    assert again.status_code == 302
    assert Order.objects.count() == 1


def test_checkout_with_an_empty_cart_redirects(client):
    assert client.get(reverse("shop:checkout"))["Location"] == reverse("shop:cart")


def test_checkout_form_errors_are_shown(client, variant):
    add(client, variant)
    response = client.post(
        reverse("shop:checkout"),
        CHECKOUT | {"email": "not-an-email", "city": "x" * 500},
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"email", "city"}
    assert not Order.objects.exists()


def test_checkout_tells_of_a_product_deactivated_in_the_cart(client, variant):
    add(client, variant)
    Product.objects.filter(pk=variant.product_id).update(is_active=False)
    page = client.get(reverse("shop:checkout"))
    assert "no longer available" in page.content.decode()
    response = client.post(reverse("shop:checkout"), CHECKOUT, follow=True)
    assert "no longer available" in response.content.decode()
    assert not Order.objects.exists()


def test_another_persons_order_is_404(client, variant):
    place_order(client, variant)
    order = Order.objects.get()
    stranger = Client()
    assert stranger.get(order.get_absolute_url()).status_code == 404
    stranger.force_login(UserFactory())
    assert stranger.get(order.get_absolute_url()).status_code == 404


def test_guest_finds_an_order_by_number_and_email():
    client = Client()
    place_order(client, VariantFactory())
    order = Order.objects.get()
    guest = Client()
    wrong = guest.post(
        reverse("shop:order_lookup"), {"number": order.number, "email": "x@y.z"}
    )
    assert wrong.status_code == 200
    assert guest.get(order.get_absolute_url()).status_code == 404
    right = guest.post(
        reverse("shop:order_lookup"),
        {"number": order.number.lower(), "email": order.email},
    )
    assert right["Location"] == order.get_absolute_url()
    assert guest.get(order.get_absolute_url()).status_code == 200


def test_signed_in_user_sees_own_order(client, variant):
    user = UserFactory()
    client.force_login(user)
    place_order(client, variant)
    order = Order.objects.get()
    assert order.user == user
    assert client.get(order.get_absolute_url()).status_code == 200


def test_search_finds_by_name_and_helps_on_zero_results(client):
    VariantFactory(product=ProductFactory(name="Linen Shirt"), sku="LIN-001")
    assert "Linen Shirt" in client.get("/search/", {"q": "linen"}).content.decode()
    assert "Linen Shirt" in client.get("/search/", {"q": "LIN-001"}).content.decode()
    empty = client.get("/search/", {"q": "zzzzqqq"})
    assert empty.status_code == 200
    assert empty.context["listing"].count == 0


@pytest.mark.postgres
def test_search_tolerates_a_typo_and_ranks_name_matches_first(client):
    VariantFactory(product=ProductFactory(name="Waxed Jacket", description="Warm."))
    VariantFactory(
        product=ProductFactory(name="Field Bag", description="Fits a jacket and more.")
    )
    body = client.get("/search/", {"q": "jacket"}).content.decode()
    assert body.index("Waxed Jacket") < body.index("Field Bag")
    assert "Waxed Jacket" in client.get("/search/", {"q": "jaket"}).content.decode()


def test_catalogue_cache_is_invalidated_when_a_product_changes(client, product):
    url = product.category.get_absolute_url()
    assert product.name in client.get(url).content.decode()
    product.name = "Renamed Product"
    product.save()
    assert "Renamed Product" in client.get(url).content.decode()


def test_a_flushed_shared_cache_never_revives_stale_pages(client, product, settings):
    from django.core.cache import cache

    settings.CATALOGUE_VERSION_TTL = 0  # re-read the version on every request

    url = product.category.get_absolute_url()
    assert product.name in client.get(url).content.decode()
    # A change that bypasses signals, then Redis loses the version key: the
    # per-process entries of the old version must not be served again.
    Product.objects.filter(pk=product.pk).update(name="Quietly Renamed")
    cache.clear()
    assert "Quietly Renamed" in client.get(url).content.decode()


def test_another_process_change_shows_within_the_version_ttl(settings):
    import time

    from django.core.cache import cache

    from shop.cache import VERSION_KEY, catalogue_version

    settings.CATALOGUE_VERSION_TTL = 0.2
    seen = catalogue_version()
    cache.incr(VERSION_KEY)  # another process bumps the shared version
    assert catalogue_version() == seen
    time.sleep(0.25)
    assert catalogue_version() == seen + 1


def test_order_history_lists_only_the_users_orders_in_constant_queries(
    client, db, django_assert_max_num_queries
):
    user = UserFactory()
    client.force_login(user)
    mine = OrderFactory.create_batch(5, user=user, email=user.email)
    theirs = OrderFactory(user=UserFactory())
    with django_assert_max_num_queries(8):
        response = client.get(reverse("shop:order_history"))
    assert response.content.count(b'<li class="order-card">') == 5
    assert all(order.number.encode() in response.content for order in mine)
    assert theirs.number.encode() not in response.content
    assert "private" in response["Cache-Control"]


def test_order_lookup_is_rate_limited_like_sign_in(settings):
    settings.ACCOUNTS_SIGNIN_IP_LIMIT = 5
    guest = Client()
    answers = [
        guest.post(
            reverse("shop:order_lookup"), {"number": f"NW-{i}", "email": f"{i}@x.io"}
        )
        for i in range(7)
    ]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert int(answers[-1]["Retry-After"]) > 0
