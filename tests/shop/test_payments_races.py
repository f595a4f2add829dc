"""Card payments under concurrency: holds never oversell or count twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from shop import services
from shop.models import Cart, Order, Product, ProductVariant
from tests.factories import VariantFactory, checkout_details
from tests.shop.conftest import card_pay
from tests.shop.test_races import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("stripe_settings"),
]


def test_a_hold_expiring_as_its_payment_succeeds_is_counted_once():
    variant = VariantFactory(stock=50)
    for round in range(8):
        cart = Cart.objects.create(session_key=f"race{round:028d}")
        services.cart_add(cart=cart, variant=variant, quantity=2)
        order = services.order_place(
            cart=cart,
            details=checkout_details(payment_method="stripe"),
            checkout_token=f"race-token-{round:020d}",
        )
        session = services.order_payment_start(order=order)
        card_pay(session.reference)

        outcomes = run_together(
            lambda order=order: services.order_hold_release(order=order),
            lambda order=order: services.order_payment_sync(order=order),
        )

        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
        expected = 50 - 2 * (round + 1)
        assert ProductVariant.objects.get(pk=variant.pk).stock == expected
        assert Product.objects.get(pk=variant.product_id).units_sold == 2 * (round + 1)


def test_card_buyers_never_oversell_and_expired_holds_return_what_they_took():
    variant = VariantFactory(stock=10)
    carts = []
    for i in range(40):
        cart = Cart.objects.create(session_key=f"buyer{i:027d}")
        services.cart_add(cart=cart, variant=variant, quantity=1)
        carts.append(cart)

    outcomes = run_together(
        *(
            lambda cart=cart, i=i: services.order_place(
                cart=cart,
                details=checkout_details(payment_method="stripe"),
                checkout_token=f"buyer-token-{i:020d}",
            )
            for i, cart in enumerate(carts)
        )
    )

    orders = [o for o in outcomes if isinstance(o, Order)]
    refused = [o for o in outcomes if isinstance(o, services.CheckoutError)]
    assert (len(orders), len(refused)) == (10, 30)
    assert ProductVariant.objects.get(pk=variant.pk).stock == 0
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(seconds=1))

    released = run_together(
        services.order_holds_release_expired, services.order_holds_release_expired
    )

    assert sum(released) == 10
    assert ProductVariant.objects.get(pk=variant.pk).stock == 10
    assert Product.objects.get(pk=variant.product_id).units_sold == 0
