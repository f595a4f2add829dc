"""Catalogue pages use a small number of queries, however many products show."""

import pytest
from django.urls import reverse

from shop.cache import catalogue_version
from shop.models import Cart
from shop.services import CART_SESSION_KEY
from tests.factories import (
    CategoryFactory,
    ImageFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def stock_category(n):
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    for i in range(n):
        product = ProductFactory(category=child if i % 2 else parent, name=f"Lamp {i}")
        VariantFactory(product=product)
        VariantFactory(product=product, options={"size": "L"})
        ImageFactory(product=product)
    return parent


def count_queries(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("products", [3, 30])
def test_listing_queries_do_not_grow_with_products(
    client, django_assert_max_num_queries, products
):
    parent = stock_category(products)
    # Cold cache: every selector runs.
    count_queries(client, parent.get_absolute_url(), django_assert_max_num_queries, 8)
    count_queries(client, reverse("shop:home"), django_assert_max_num_queries, 6)
    count_queries(client, "/search/?q=lamp", django_assert_max_num_queries, 6)


@pytest.mark.parametrize("variants", [1, 12])
def test_product_page_queries_do_not_grow_with_variants(
    client, django_assert_max_num_queries, variants
):
    product = ProductFactory()
    for i in range(variants):
        VariantFactory(product=product, options={"size": str(i)})
        ImageFactory(product=product)
    for i in range(6):
        VariantFactory(product=ProductFactory(category=product.category, name=f"Rel {i}"))
    count_queries(client, product.get_absolute_url(), django_assert_max_num_queries, 9)


def test_warm_cache_serves_catalogue_pages_with_almost_no_queries(
    client, django_assert_max_num_queries
):
    parent = stock_category(10)
    client.get(parent.get_absolute_url())
    # An anonymous visitor without a session needs no query at all once
    # the listing is cached.
    count_queries(client, parent.get_absolute_url(), django_assert_max_num_queries, 1)


def test_cart_page_queries_do_not_grow_with_lines(client, django_assert_max_num_queries):
    for i in range(8):
        variant = VariantFactory(product=ProductFactory(name=f"Cup {i}"))
        client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})
    count_queries(client, reverse("shop:cart"), django_assert_max_num_queries, 6)


@pytest.mark.django_db(transaction=True)
def test_adding_to_the_cart_takes_a_few_queries_and_one_commit(
    client, django_assert_max_num_queries
):
    variant = VariantFactory(stock=5)
    other = VariantFactory(stock=5)

    def add(variant, quantity):
        response = client.post(
            reverse("shop:cart_add"), {"variant": variant.pk, "quantity": quantity}
        )
        assert response.status_code == 302

    # The header's cart count comes from the add (cart_count_noted), with no
    # query. A new visitor: the variant read, then the cart, its line and
    # the session written in one transaction.
    with django_assert_max_num_queries(6) as first:
        add(variant, 1)
    # A cart that exists, named by the session (read from the cache, not
    # written again): the variant read, then the cart's row locked, its
    # lines read and one line written.
    with django_assert_max_num_queries(6) as again:
        add(variant, 1)
    with django_assert_max_num_queries(6) as another:
        add(other, 3)

    for captured in (first, again, another):
        statements = [query["sql"] for query in captured]
        assert statements.count("COMMIT") == 1
    assert [s for s in statements if "django_session" in s] == []
    cart = Cart.objects.get(session_key=client.session.session_key)
    assert dict(cart.lines.values_list("variant_id", "quantity")) == {
        variant.pk: 2,
        other.pk: 3,
    }
    assert client.session[CART_SESSION_KEY] == cart.pk


def test_adding_to_the_cart_leaves_the_catalogue_version_alone(
    client, variant, monkeypatch
):
    # A bump would make every process render every catalogue page again.
    before = catalogue_version()
    bumps = []
    monkeypatch.setattr("shop.cache._bump", lambda: bumps.append(1))
    url = reverse("shop:cart_add")
    for _ in range(2):
        response = client.post(url, {"variant": variant.pk, "quantity": 1})
        assert response.status_code == 302
    assert bumps == []
    assert catalogue_version() == before
