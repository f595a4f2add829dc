"""Order emails: rendered for each event, sent by the task worker, retried."""

from dataclasses import asdict
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from shop.emails import SUBJECTS, order_email_message
from shop.models import Order, Refund
from tests.factories import OrderFactory, OrderLineFactory, checkout_details
from tests.shop.mailers import FlakyBackend


@pytest.fixture
def order(db):
    order = OrderFactory(
        number="NW-MAIL2345",
        full_name="Ada <Buyer>",
        carrier="royal-mail",
        tracking_number="AB123456789GB",
    )
    OrderLineFactory(order=order, product_name="Wool Scarf", options={"colour": "Red"})
    Refund.objects.create(
        order=order, amount=Decimal("20.00"), currency="GBP", reason="Returned"
    )
    return order


@pytest.mark.parametrize("kind", sorted(SUBJECTS))
def test_each_order_email_renders_as_text_and_self_contained_html(order, kind):
    message = order_email_message(order=order, kind=kind)
    html = message.alternatives[0].content

    assert "NW-MAIL2345" in message.subject
    assert message.to == [order.email]
    assert "Hello Ada <Buyer>," in message.body  # plain text: nothing escaped
    assert "2 x Wool Scarf (Red)  £40.00" in message.body
    assert "/orders/NW-MAIL2345/" in message.body
    assert "Hello Ada &lt;Buyer&gt;," in html
    assert "£44.95" in html and "Wool Scarf" in html
    # Inline CSS only, and nothing fetched from elsewhere.
    assert "<style" not in html and "<link" not in html and "<img" not in html
    assert 'style="' in html
    assert "<script" not in html


def test_the_shipped_email_gives_the_tracking_number_and_carrier_link(order):
    message = order_email_message(order=order, kind="shipped")
    link = "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB"

    assert "Tracking number: AB123456789GB" in message.body
    assert link in message.body
    assert f'href="{link}"' in message.alternatives[0].content


def test_the_refund_email_states_the_amount(order):
    message = order_email_message(order=order, kind="refunded")

    assert "We have refunded £20.00" in message.body
    assert "Reason: Returned" in message.body


@pytest.mark.django_db(transaction=True)
def test_a_failed_send_is_retried_by_the_worker_and_never_blocks_checkout(
    client, variant, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.MAILERS = {"default": {"BACKEND": "tests.shop.mailers.FlakyBackend"}}
    settings.SHOP_EMAIL_RETRY_DELAYS = [0, 0]
    FlakyBackend.failures_left = 1
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})

    response = client.post(
        reverse("shop:checkout"),
        {
            **asdict(checkout_details(email="retry@example.com")),
            "checkout_token": "mail-retry-" + "x" * 20,
        },
    )

    order = Order.objects.get()
    assert response["Location"] == order.get_absolute_url()
    assert not mail.outbox  # queued, not sent inside the request
    assert DBTaskResult.objects.count() == 1

    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)

    statuses = list(
        DBTaskResult.objects.order_by("enqueued_at").values_list("status", flat=True)
    )
    assert statuses == ["FAILED", "SUCCESSFUL"]
    assert [m.to for m in mail.outbox] == [["retry@example.com"]]
    assert order.number in mail.outbox[0].subject
