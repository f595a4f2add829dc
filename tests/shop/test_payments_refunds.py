"""Staff refunds through the provider (localstripe), with chosen restocks."""

from decimal import Decimal

import pytest
import requests
from django.core import mail
from django.urls import reverse

from shop import services
from shop.models import Order, ProductVariant
from tests.factories import ProductFactory, VariantFactory
from tests.shop.conftest import card_order, card_pay

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


@pytest.fixture
def paid_order():
    """A paid card order of 2 scarves (£20) and 1 hat (£15), plus £4.95."""
    scarf = VariantFactory(stock=5, price=Decimal("20.00"))
    hat = VariantFactory(product=ProductFactory(), stock=5, price=Decimal("15.00"))
    order = card_order({scarf: 2, hat: 1}, token="refund-token-0000001")
    session = services.order_payment_start(order=order)
    card_pay(session.reference)
    order = services.order_payment_sync(order=order)
    assert order.status == Order.Status.PAID
    return order, scarf, hat


def stock(variant):
    return ProductVariant.objects.get(pk=variant.pk).stock


def stripe_refund(localstripe_url, reference):
    return requests.get(
        f"{localstripe_url}/v1/refunds/{reference}",
        headers={"Authorization": "Bearer sk_test_shop"},
        timeout=5,
    ).json()


def test_a_partial_refund_restocks_only_the_lines_staff_choose(
    paid_order, localstripe_url, staff_user, django_capture_on_commit_callbacks
):
    order, scarf, hat = paid_order
    scarf_line = order.lines.get(variant=scarf)

    with django_capture_on_commit_callbacks(execute=True):
        refund = services.order_refund(
            order=order,
            amount=Decimal("20.00"),
            restock={scarf_line.pk: 1},
            reason="One scarf came back",
            by=staff_user,
        )

    assert stripe_refund(localstripe_url, refund.reference)["amount"] == 2000
    assert (stock(scarf), stock(hat)) == (4, 4)
    assert [(rl.order_line_id, rl.quantity) for rl in refund.lines.all()] == [
        (scarf_line.pk, 1)
    ]
    order = Order.objects.get(pk=order.pk)
    assert order.status == Order.Status.PAID
    assert order.amount_refundable == Decimal("39.95")
    assert "£20.00" in mail.outbox[-1].body
    assert mail.outbox[-1].subject.startswith("A refund for your")


def test_no_more_than_was_paid_can_be_refunded(paid_order):
    order, scarf, _ = paid_order
    services.order_refund(order=order, amount=Decimal("55.00"))

    with pytest.raises(services.RefundError, match="At most 4.95"):
        services.order_refund(order=order, amount=Decimal("5.00"))
    line = order.lines.get(variant=scarf)
    with pytest.raises(services.RefundError, match="no more units"):
        services.order_refund(order=order, amount=Decimal("1.00"), restock={line.pk: 3})


def test_cancelling_a_paid_order_refunds_the_rest_and_restocks_every_unit_once(
    paid_order, localstripe_url
):
    order, scarf, hat = paid_order
    line = order.lines.get(variant=scarf)
    services.order_refund(order=order, amount=Decimal("20.00"), restock={line.pk: 1})

    services.order_cancel(order=order)

    order = Order.objects.get(pk=order.pk)
    assert order.status == Order.Status.CANCELLED
    assert order.amount_refunded == order.total
    last = order.refunds.last()
    assert stripe_refund(localstripe_url, last.reference)["amount"] == 3995
    assert (stock(scarf), stock(hat)) == (5, 5)


def test_staff_refund_from_django_admin(paid_order, admin_client):
    order, scarf, hat = paid_order
    hat_line = order.lines.get(variant=hat)
    url = reverse("admin:shop_order_refund", args=[order.pk])
    assert "Restock" in admin_client.get(url).content.decode()

    response = admin_client.post(
        url,
        {
            "amount": "15.00",
            "reason": "Hat returned",
            f"restock_{hat_line.pk}": "1",
            f"restock_{order.lines.get(variant=scarf).pk}": "0",
        },
    )

    assert response.status_code == 302
    refund = order.refunds.get()
    assert (refund.amount, refund.reason) == (Decimal("15.00"), "Hat returned")
    assert refund.reference.startswith("re_")
    assert stock(hat) == 5
