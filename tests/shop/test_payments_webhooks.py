"""Stripe's webhook: signed, de-duplicated, in any order, over real HTTP state."""

import time

import pytest
from django.urls import reverse

from shop import services
from shop.models import Order, PaymentEvent, ProductVariant
from tests.factories import VariantFactory
from tests.shop.conftest import (
    card_order,
    card_pay,
    event_payload,
    intent_of,
    signed,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

URL = "/payments/stripe/webhook/"


@pytest.fixture
def paid_intent(localstripe_url):
    """A card order whose PaymentIntent succeeded at localstripe."""
    variant = VariantFactory(stock=5)
    order = card_order({variant: 2}, token="webhook-token-000001")
    session = services.order_payment_start(order=order)
    card_pay(session.reference)
    return order, variant, intent_of(localstripe_url, session.reference)


def post(client, payload: bytes, signature: str | None):
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return client.post(URL, payload, content_type="application/json", **headers)


def test_the_webhook_url_is_named():
    assert reverse("shop:stripe_webhook") == URL


def test_a_signed_success_marks_the_order_paid(client, paid_intent):
    order, variant, intent = paid_intent
    payload = event_payload(
        event_id="evt_1", type="payment_intent.succeeded", intent=intent
    )

    response = post(client, payload, signed(payload))

    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert ProductVariant.objects.get(pk=variant.pk).stock == 3


def test_a_replayed_event_changes_nothing(client, paid_intent):
    order, variant, intent = paid_intent
    payload = event_payload(
        event_id="evt_2", type="payment_intent.succeeded", intent=intent
    )
    post(client, payload, signed(payload))
    # Staff cancel the order and its stock comes back...
    services.order_cancel(order=Order.objects.get(pk=order.pk))
    assert ProductVariant.objects.get(pk=variant.pk).stock == 5

    # ...then the same event arrives again: it must not confirm it anew.
    response = post(client, payload, signed(payload))

    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert ProductVariant.objects.get(pk=variant.pk).stock == 5
    assert PaymentEvent.objects.filter(event_id="evt_2").count() == 1


def test_a_forged_signature_is_refused(client, paid_intent):
    order, _, intent = paid_intent
    payload = event_payload(
        event_id="evt_3", type="payment_intent.succeeded", intent=intent
    )

    forged = post(client, payload, signed(payload, secret="whsec_not_ours"))
    missing = post(client, payload, None)
    tampered = post(client, payload.replace(b"evt_3", b"evt_4"), signed(payload))

    assert [forged.status_code, missing.status_code, tampered.status_code] == [
        400,
        400,
        400,
    ]
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT
    assert not PaymentEvent.objects.exists()


def test_a_stale_signature_is_refused(client, paid_intent):
    order, _, intent = paid_intent
    payload = event_payload(
        event_id="evt_5", type="payment_intent.succeeded", intent=intent
    )

    response = post(client, payload, signed(payload, at=time.time() - 3600))

    assert response.status_code == 400
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT


def test_an_unknown_event_is_answered_and_ignored(client, paid_intent):
    order, _, intent = paid_intent
    payload = event_payload(
        event_id="evt_6", type="charge.dispute.created", intent=intent
    )

    response = post(client, payload, signed(payload))

    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT


def test_success_before_the_browser_returns_and_after_it_agree(client, paid_intent):
    order, variant, intent = paid_intent
    payload = event_payload(
        event_id="evt_7", type="payment_intent.succeeded", intent=intent
    )
    session = client.session
    session["orders_granted"] = [order.number]
    session.save()

    post(client, payload, signed(payload))
    returned = client.get(reverse("shop:order_pay_return", args=[order.number]))
    post(client, payload, signed(payload))

    assert returned["Location"] == order.get_absolute_url()
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert ProductVariant.objects.get(pk=variant.pk).stock == 3


def test_a_failure_heard_after_the_success_changes_nothing(client, paid_intent):
    order, variant, intent = paid_intent
    success = event_payload(
        event_id="evt_8", type="payment_intent.succeeded", intent=intent
    )
    failure = event_payload(
        event_id="evt_9", type="payment_intent.payment_failed", intent=intent
    )

    post(client, success, signed(success))
    post(client, failure, signed(failure))

    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert ProductVariant.objects.get(pk=variant.pk).stock == 3


def test_a_failure_heard_first_then_the_success_takes_the_stock_again(
    client, paid_intent
):
    order, variant, intent = paid_intent
    failure = event_payload(
        event_id="evt_10", type="payment_intent.payment_failed", intent=intent
    )
    success = event_payload(
        event_id="evt_11", type="payment_intent.succeeded", intent=intent
    )

    post(client, failure, signed(failure))
    assert ProductVariant.objects.get(pk=variant.pk).stock == 5
    post(client, success, signed(success))

    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert ProductVariant.objects.get(pk=variant.pk).stock == 3


def test_the_return_page_never_trusts_the_query_string(client, localstripe_url):
    order = card_order({VariantFactory(stock=5): 1}, token="return-token-0000001")
    services.order_payment_start(order=order)
    session = client.session
    session["orders_granted"] = [order.number]
    session.save()

    response = client.get(
        reverse("shop:order_pay_return", args=[order.number])
        + "?redirect_status=succeeded&payment_intent=pi_forged"
    )

    assert response["Location"] == reverse("shop:order_pay", args=[order.number])
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT
