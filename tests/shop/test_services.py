from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from shop import services
from shop.models import Cart, CartLine, Order, Product, ProductVariant
from tests.factories import (
    ProductFactory,
    UserFactory,
    VariantFactory,
    checkout_details,
)

pytestmark = pytest.mark.django_db


def details(**overrides):
    return checkout_details(**({"email": "Guest@Example.com"} | overrides))


@pytest.fixture
def cart():
    return Cart.objects.create(session_key="s" * 32)


def test_cart_add_merges_quantities_of_the_same_variant(cart, variant):
    services.cart_add(cart=cart, variant=variant, quantity=2)
    services.cart_add(cart=cart, variant=variant, quantity=3)
    assert cart.lines.get().quantity == 5


def test_cart_add_refuses_more_than_stock_with_a_clear_message(cart, variant):
    with pytest.raises(services.CartError, match="Only 10 .* left in stock"):
        services.cart_add(cart=cart, variant=variant, quantity=11)
    assert not cart.lines.exists()


def test_cart_add_refuses_sold_out_and_inactive(cart):
    sold_out = VariantFactory(stock=0)
    with pytest.raises(services.CartError, match="sold out"):
        services.cart_add(cart=cart, variant=sold_out, quantity=1)
    hidden = VariantFactory(product=ProductFactory(is_active=False))
    with pytest.raises(services.CartError, match="no longer available"):
        services.cart_add(cart=cart, variant=hidden, quantity=1)


def test_cart_set_quantity_zero_removes_the_line(cart, variant):
    line = services.cart_add(cart=cart, variant=variant, quantity=2).line
    services.cart_set_quantity(cart=cart, line_id=line.pk, quantity=0)
    assert not cart.lines.exists()


def test_cart_line_of_another_cart_is_not_found(cart, variant):
    other = Cart.objects.create(session_key="o" * 32)
    line = services.cart_add(cart=other, variant=variant, quantity=1).line
    with pytest.raises(CartLine.DoesNotExist):
        services.cart_remove(cart=cart, line_id=line.pk)
    assert other.lines.count() == 1


def test_cart_merge_adds_quantities_caps_by_stock_and_deletes_source(variant):
    user = UserFactory()
    target = Cart.objects.create(user=user)
    source = Cart.objects.create(session_key="a" * 32)
    other = VariantFactory(stock=3)
    services.cart_add(cart=target, variant=variant, quantity=6)
    services.cart_add(cart=source, variant=variant, quantity=6)
    services.cart_add(cart=source, variant=other, quantity=3)

    services.cart_merge(source=source, target=target)

    quantities = dict(target.lines.values_list("variant_id", "quantity"))
    assert quantities == {variant.pk: 10, other.pk: 3}
    assert not Cart.objects.filter(pk=source.pk).exists()
    # Merging again (no source) changes nothing.
    services.cart_merge(source=None, target=target)
    assert dict(target.lines.values_list("variant_id", "quantity")) == quantities


def test_order_place_snapshots_lines_decrements_stock_and_empties_cart(
    cart, variant, django_capture_on_commit_callbacks
):
    variant.compare_at_price = Decimal("30.00")
    variant.save()
    services.cart_add(cart=cart, variant=variant, quantity=3)

    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_place(
            cart=cart, details=details(), checkout_token="t" * 20
        )

    variant.refresh_from_db()
    assert variant.stock == 7
    assert order.subtotal == Decimal("60.00")
    assert order.shipping_cost == Decimal("4.95")
    assert order.total == Decimal("64.95")
    assert order.email == "guest@example.com"
    line = order.lines.get()
    assert (line.product_name, line.sku, line.unit_price, line.quantity) == (
        variant.product.name,
        variant.sku,
        Decimal("20.00"),
        3,
    )
    assert line.options == variant.options
    assert not cart.lines.exists()
    assert Product.objects.get(pk=variant.product_id).units_sold == 3
    assert len(mail.outbox) == 1
    assert order.number in mail.outbox[0].subject

    # The snapshot does not follow later catalogue edits.
    ProductVariant.objects.filter(pk=variant.pk).update(price=Decimal("99.00"))
    Product.objects.filter(pk=variant.product_id).update(name="Renamed")
    line.refresh_from_db()
    assert (line.unit_price, line.product_name) == (
        Decimal("20.00"),
        variant.product.name,
    )


def test_order_place_with_the_same_token_returns_the_same_order(cart, variant):
    services.cart_add(cart=cart, variant=variant, quantity=1)
    first = services.order_place(cart=cart, details=details(), checkout_token="d" * 20)
    second = services.order_place(cart=cart, details=details(), checkout_token="d" * 20)
    assert first.pk == second.pk
    assert Order.objects.count() == 1
    variant.refresh_from_db()
    assert variant.stock == 9


def test_order_place_rechecks_stock_and_writes_nothing_on_failure(cart, variant):
    services.cart_add(cart=cart, variant=variant, quantity=5)
    ProductVariant.objects.filter(pk=variant.pk).update(stock=2)
    with pytest.raises(services.CheckoutError, match="Only 2"):
        services.order_place(cart=cart, details=details(), checkout_token="x" * 20)
    assert Order.objects.count() == 0
    assert cart.lines.get().quantity == 5
    variant.refresh_from_db()
    assert variant.stock == 2


def test_order_place_refuses_a_deactivated_product(cart, variant):
    services.cart_add(cart=cart, variant=variant, quantity=1)
    Product.objects.filter(pk=variant.product_id).update(is_active=False)
    with pytest.raises(services.CheckoutError, match="no longer available"):
        services.order_place(cart=cart, details=details(), checkout_token="y" * 20)
    assert services.cart_problems(cart=cart) == [
        f"{variant.product.name} is no longer available."
    ]


def test_order_place_refuses_an_empty_cart(cart):
    with pytest.raises(services.CheckoutError, match="empty"):
        services.order_place(cart=cart, details=details(), checkout_token="z" * 20)


def test_order_cancel_restocks_and_is_refused_once_shipped(cart, variant):
    services.cart_add(cart=cart, variant=variant, quantity=4)
    order = services.order_place(cart=cart, details=details(), checkout_token="c" * 20)
    services.order_cancel(order=order)
    variant.refresh_from_db()
    assert variant.stock == 10
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED

    with pytest.raises(services.OrderStatusError, match="cancelled cannot become paid"):
        services.order_set_status(order=order, status=Order.Status.PAID)


def test_status_transitions_are_enforced():
    order = Order(status=Order.Status.PENDING)
    assert order.can_transition_to(Order.Status.PAID)
    assert not order.can_transition_to(Order.Status.SHIPPED)
    assert Order(status=Order.Status.SHIPPED).can_cancel is False
    assert Order(status=Order.Status.PAID).can_cancel is True


def test_database_refuses_negative_stock(variant):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductVariant.objects.filter(pk=variant.pk).update(stock=-1)


def test_database_refuses_duplicate_cart_lines(cart, variant):
    CartLine.objects.create(cart=cart, variant=variant, quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        CartLine.objects.create(cart=cart, variant=variant, quantity=1)


def test_product_index_refresh_denormalises_price_and_stock():
    product = ProductFactory()
    VariantFactory(product=product, price=Decimal("12.00"), stock=0)
    VariantFactory(product=product, price=Decimal("9.50"), stock=0)
    product.refresh_from_db()
    assert product.price_from == Decimal("9.50")
    assert product.in_stock is False
    VariantFactory(product=product, price=Decimal("30.00"), stock=1)
    product.refresh_from_db()
    assert product.in_stock is True
