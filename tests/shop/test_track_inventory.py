"""Variants whose stock the shop does not count (`track_inventory` off)."""

import re

import pytest
from django.urls import reverse

from shop import services
from shop.models import Cart, Product
from shop.templatetags.shop_tags import stock_state
from tests.factories import VariantFactory, checkout_details

pytestmark = pytest.mark.django_db


@pytest.fixture
def untracked():
    variant = VariantFactory(stock=0, track_inventory=False)
    services.product_index_refresh(product_ids=[variant.product_id])
    return variant


def test_an_untracked_variant_is_always_purchasable_and_never_decremented(untracked):
    cart = Cart.objects.create(session_key="u" * 32)
    services.cart_add(cart=cart, variant=untracked, quantity=3)
    assert services.cart_problems(cart=cart) == []
    order = services.order_place(
        cart=cart, details=checkout_details(), checkout_token="t" * 20
    )
    untracked.refresh_from_db()
    assert untracked.stock == 0 and untracked.in_stock
    assert Product.objects.get(pk=untracked.product_id).in_stock
    services.order_cancel(order=order)
    untracked.refresh_from_db()
    assert untracked.stock == 0  # a cancel does not restock it either


def test_a_merged_cart_keeps_untracked_lines(untracked, variant):
    source = Cart.objects.create(session_key="a" * 32)
    target = Cart.objects.create(session_key="b" * 32)
    services.cart_add(cart=source, variant=untracked, quantity=2)
    services.cart_merge(source=source, target=target)
    assert target.lines.get().quantity == 2


def test_untracked_variants_are_labelled_in_stock_on_the_product_page(
    client, untracked
):
    assert stock_state(untracked) == "In stock"
    product = untracked.product
    sold_out = VariantFactory(product=product, stock=0, options={"size": "L"})
    assert stock_state(sold_out) == "Sold out"
    page = client.get(reverse("shop:product", kwargs={"slug": product.slug}))
    html = page.content.decode()
    assert "Add to cart" in html

    def radio(variant) -> str:
        return re.search(rf'<input type="radio"[^>]*value="{variant.pk}"[^>]*>', html)[
            0
        ]

    assert "disabled" not in radio(untracked) and "disabled" in radio(sold_out)


def test_a_tracked_variant_still_sells_out(variant):
    variant.stock = 0
    variant.save()
    cart = Cart.objects.create(session_key="c" * 32)
    with pytest.raises(services.CartError, match="sold out"):
        services.cart_add(cart=cart, variant=variant, quantity=1)
