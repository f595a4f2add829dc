"""Whole-page caching for anonymous visitors never shares what is personal."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from shop.pagecache import CSRF_PLACEHOLDER
from tests.factories import checkout_details

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def test_each_visitor_gets_their_own_csrf_token_in_a_cached_page(product):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    one = first.get(product.get_absolute_url()).content.decode()
    two = second.get(product.get_absolute_url()).content.decode()

    assert CSRF_PLACEHOLDER not in one + two
    assert TOKEN.search(one).group(1) != TOKEN.search(two).group(1)
    # The swapped-in token is a working one.
    variant = product.variants.first()
    response = second.post(
        reverse("shop:cart_add"),
        {
            "variant": variant.pk,
            "quantity": 1,
            "csrfmiddlewaretoken": TOKEN.search(two).group(1),
        },
    )
    assert response.status_code == 302


def test_an_order_updates_the_stock_on_a_cached_product_page(
    client, product, django_capture_on_commit_callbacks
):
    from shop import services
    from shop.models import Cart

    variant = product.variants.first()  # 10 in stock
    assert "Only" not in Client().get(product.get_absolute_url()).content.decode()
    cart = Cart.objects.create(session_key="s" * 32)
    services.cart_add(cart=cart, variant=variant, quantity=8)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_place(
            cart=cart,
            details=checkout_details(),
            checkout_token="stock-" + "x" * 20,
        )
    page = Client().get(product.get_absolute_url()).content.decode()
    assert "Only 2 left" in page


def test_a_visitor_with_a_cart_gets_their_own_page(client, product):
    Client().get(product.category.get_absolute_url())  # warm the shared page
    variant = product.variants.first()
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 3})
    page = client.get(product.category.get_absolute_url())
    assert page.context["cart_count"]() == 3
    assert 'data-count="3"' in page.content.decode()


def test_shoppers_share_the_cached_page_with_their_own_header(product):
    from accounts.models import User

    Client().get(product.get_absolute_url())  # the shared page, cached
    ann = Client()
    ann.force_login(User.objects.create_user(email="ann@example.com", name="Ann Lee"))
    ann.post(
        reverse("shop:cart_add"), {"variant": product.variants.first().pk, "quantity": 2}
    )
    bob = Client()
    bob.force_login(User.objects.create_user(email="bob@example.com", name="Bob Ray"))

    one = ann.get(product.get_absolute_url()).content.decode()
    two = bob.get(product.get_absolute_url()).content.decode()
    anonymous = Client().get(product.get_absolute_url()).content.decode()

    assert "Ann" in one and 'data-count="2"' in one and "Bob" not in one
    assert "Bob" in two and 'data-count="0"' in two and "Ann" not in two
    assert "Sign in" in anonymous and "Sign out" not in anonymous
    assert all("header-account-" not in page for page in (one, two, anonymous))


def test_a_signed_in_shopper_is_served_the_cached_page_in_few_queries(
    product, django_assert_max_num_queries
):
    from accounts.models import User

    Client().get(product.get_absolute_url())  # the shared page, cached
    shopper = Client()
    shopper.force_login(User.objects.create_user(email="cy@example.com", name="Cy"))
    # The session, the user and the cart count; no catalogue query.
    with django_assert_max_num_queries(3):
        page = shopper.get(product.get_absolute_url())
    assert product.name in page.content.decode()


def test_a_waiting_message_shows_on_the_next_catalogue_page(client, product):
    client.get(product.get_absolute_url())  # the shared page, cached
    variant = product.variants.first()
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})
    page = client.get(product.category.get_absolute_url()).content.decode()
    assert f"Added {variant} to your cart." in page


def test_pages_are_keyed_on_the_parameters_they_read(product):
    from shop.pagecache import pages

    category = product.category.get_absolute_url()
    Client().get(category)
    size = pages.size
    for n in range(20):  # campaign tags and junk share the page
        page = Client().get(f"{category}?utm_source=mail{n}&x={n}").content.decode()
        assert f"mail{n}" not in page  # another visitor's query never shows
    assert pages.size == size
    Client().get(f"{category}?sort=price&page=1")  # a parameter it reads
    assert pages.size > size


def test_the_page_cache_is_bounded_by_bytes(settings, product):
    from shop.pagecache import pages

    settings.SHOP_PAGE_CACHE_BYTES = 200_000
    for n in range(40):
        Client().get(f"/search/?q=product+{n}")
    assert 0 < pages.size <= 200_000
