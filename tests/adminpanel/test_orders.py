"""The dashboards' order page: the order, its payment, history and refunds."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from shop import services
from shop.models import Order, ProductVariant, Refund
from tests.factories import OrderFactory, OrderLineFactory, VariantFactory
from tests.shop.conftest import (  # noqa: F401 (fixtures)
    card_order,
    card_pay,
    localstripe_url,
    stripe_settings,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_cash_order():
    """A cash order marked paid: two scarves at £20 (none back in stock)."""
    variant = VariantFactory(stock=3, price=Decimal("20.00"))
    order = OrderFactory(status=Order.Status.PAID, paid_at=timezone.now())
    line = OrderLineFactory(
        order=order, variant=variant, product=variant.product, sku=variant.sku
    )
    return order, line, variant


def page(number: str) -> str:
    return reverse("adminpanel:order", kwargs={"number": number})


def refund_url(number: str) -> str:
    return reverse("adminpanel:order_refund", kwargs={"number": number})


def test_non_staff_are_refused_the_order_page_and_its_refund(
    shopper_client, client, paid_cash_order
):
    order, line, _ = paid_cash_order
    data = {"amount": "5.00", f"restock_{line.pk}": "0"}

    assert shopper_client.get(page(order.number)).status_code == 403
    assert shopper_client.post(refund_url(order.number), data).status_code == 403
    client.logout()
    assert client.post(refund_url(order.number), data).status_code == 302
    assert not Refund.objects.exists()


def test_staff_see_the_order_its_payment_history_and_refunds(
    staff_client, paid_cash_order, django_assert_max_num_queries
):
    order, line, _ = paid_cash_order
    services.order_refund(order=order, amount=Decimal("4.95"), reason="Late parcel")

    with django_assert_max_num_queries(12):
        response = staff_client.get(page(order.number))

    body = response.content.decode()
    assert response.status_code == 200
    assert order.number in body and line.sku in body
    assert "Late parcel" in body
    assert "Status history" in body and "Paid" in body
    assert response.context["form"].fields["amount"].initial == Decimal("40.00")
    assert f'action="{refund_url(order.number)}"' in body


def test_an_unknown_order_is_404(staff_client):
    assert staff_client.get(page("NW-NOPE")).status_code == 404
    assert staff_client.post(refund_url("NW-NOPE"), {}).status_code == 404


def test_the_refund_is_post_only(staff_client, paid_cash_order):
    order, _, _ = paid_cash_order
    assert staff_client.get(refund_url(order.number)).status_code == 405
    assert staff_client.post(page(order.number)).status_code == 405


def test_a_partial_refund_restocks_the_chosen_units_and_redirects(
    staff_client, paid_cash_order, django_capture_on_commit_callbacks
):
    order, line, variant = paid_cash_order

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            refund_url(order.number),
            {"amount": "20.00", "reason": "One came back", f"restock_{line.pk}": "1"},
        )

    assert response.status_code == 302
    assert response["Location"] == page(order.number)
    [refund] = Refund.objects.filter(order=order)
    assert refund.amount == Decimal("20.00")
    assert refund.created_by.email == "staff@example.com"
    assert ProductVariant.objects.get(pk=variant.pk).stock == 4
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Refunded 20.00 GBP on {order.number}."
    ]


def test_a_refused_refund_shows_why_and_writes_nothing(staff_client, paid_cash_order):
    order, line, variant = paid_cash_order

    too_much = staff_client.post(
        refund_url(order.number), {"amount": "99.00", f"restock_{line.pk}": "0"}
    )
    too_many = staff_client.post(
        refund_url(order.number), {"amount": "1.00", f"restock_{line.pk}": "3"}
    )

    assert too_much.status_code == too_many.status_code == 400
    assert "At most 44.95 GBP can be refunded." in too_much.content.decode()
    assert too_many.context["form"].errors
    assert not Refund.objects.exists()
    assert ProductVariant.objects.get(pk=variant.pk).stock == 3


@pytest.mark.usefixtures("stripe_settings")
def test_a_card_order_is_refunded_through_stripe_from_the_dashboard(staff_client):
    order = card_order({VariantFactory(stock=5): 1}, token="dash-refund-token-01")
    card_pay(services.order_payment_start(order=order).reference)
    order = services.order_payment_sync(order=order)
    line = order.lines.get()

    staff_client.post(
        refund_url(order.number),
        {"amount": str(order.total), f"restock_{line.pk}": "1"},
    )

    refund = Refund.objects.get(order=order)
    assert refund.reference.startswith("re_")
    assert Order.objects.get(pk=order.pk).amount_refundable == 0
    assert "Nothing left to refund" in staff_client.get(page(order.number)).text


def test_order_lists_on_the_sales_page_link_to_the_order(staff_client, paid_cash_order):
    order, _, _ = paid_cash_order
    services.order_refund(order=order, amount=Decimal("5.00"))

    body = staff_client.get(reverse("adminpanel:sales")).content.decode()

    assert body.count(f'href="{page(order.number)}"') == 2  # latest orders, refunds


def test_refunds_are_their_own_series_on_the_sales_page(staff_client, paid_cash_order):
    order, _, _ = paid_cash_order
    services.order_refund(order=order, amount=Decimal("7.50"))

    data = staff_client.get(reverse("adminpanel:sales"), {"range": "7d"}).context[
        "data"
    ]

    cards = {card["key"]: card for card in data["cards"]}
    assert cards["refunded"]["value"] == Decimal("7.50")
    assert [title for title, _ in data["charts"]][:2] == [
        "Revenue by day",
        "Refunds by day",
    ]
    by_day = next(t for t in data["tables"] if t.slug == "revenue-by-day")
    assert sum(row["refunded"] for row in by_day.rows) == Decimal("7.50")
    assert sum(row["refunds"] for row in by_day.rows) == 1
