"""Catalogue pages use a small number of queries, however many products show."""

import pytest
from django.urls import reverse

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
