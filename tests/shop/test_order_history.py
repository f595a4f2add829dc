"""An order's page tells its status and history; the thanks come once."""

from dataclasses import asdict

import pytest
from django.urls import reverse

from shop.models import Order
from shop.services import order_cancel, order_set_status
from tests.factories import OrderFactory, VariantFactory, checkout_details

pytestmark = pytest.mark.django_db

CHECKOUT = asdict(checkout_details()) | {"checkout_token": "history-" + "a" * 20}


def _place(client) -> Order:
    variant = VariantFactory(stock=5)
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})
    response = client.post(reverse("shop:checkout"), CHECKOUT)
    assert response.status_code == 302
    return Order.objects.get(checkout_token=CHECKOUT["checkout_token"])


def _steps(order: Order) -> list[str]:
    return [change.status for change in order.status_changes.all()]


def test_the_thanks_show_right_after_placing_then_the_status_and_history(client):
    order = _place(client)
    url = order.get_absolute_url()

    first = client.get(url).content.decode()
    order_set_status(order=order, status=Order.Status.PAID)
    order_set_status(order=order, status=Order.Status.SHIPPED)
    later = client.get(url).content.decode()

    assert "Thank you, Grace Guest!" in first
    assert "Thank you" not in later and "is confirmed" not in later
    assert '<span class="status status-shipped">Shipped</span>' in later
    history = later[later.index('class="order-history"') :]
    for step in ["Placed", "Paid", "Shipped"]:
        assert f'<span class="order-history-step">{step}</span>' in history
    assert _steps(order) == ["pending", "paid", "shipped"]


def test_a_cancelled_order_says_so_with_when(client):
    order = _place(client)
    client.get(order.get_absolute_url())

    order_cancel(order=order)
    body = client.get(order.get_absolute_url()).content.decode()

    assert '<span class="order-history-step">Cancelled</span>' in body
    assert "Thank you" not in body
    assert _steps(order) == ["pending", "cancelled"]


def test_an_order_from_before_the_history_shows_its_placing_and_status():
    order = OrderFactory(status=Order.Status.DELIVERED)

    steps = order.status_history()

    assert [(s.status, s.at) for s in steps] == [
        ("pending", order.created_at),
        ("delivered", order.updated_at),
    ]
