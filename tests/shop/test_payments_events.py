"""The clickstream of a card order: payment started, purchase, refund."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from analytics.models import Event
from analytics.services import Recorder, events_flush, recorder_reset
from shop import services
from shop.models import Order
from tests.factories import UserFactory, VariantFactory
from tests.shop.conftest import card_pay, event_payload, intent_of, signed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
CHECKOUT = {
    "email": "shopper@example.com",
    "full_name": "Sam Shopper",
    "address_line1": "1 High Street",
    "city": "Leeds",
    "postcode": "LS1 4AP",
    "country": "GB",
    "shipping_method": "standard",
    "payment_method": "stripe",
    "checkout_token": "events-token-" + "a" * 20,
}


@pytest.fixture(autouse=True)
def recorder(settings):
    """Events recorded in memory and written only when flushed."""
    settings.ANALYTICS_BACKGROUND_FLUSH = False
    settings.ANALYTICS_SINKS = ["analytics.sinks.DatabaseSink"]
    settings.ANALYTICS_REQUIRE_CONSENT = False
    settings.ANALYTICS_PRIVATE_MODE = "hash"
    yield recorder_reset(recorder=Recorder(background=False))
    recorder_reset(recorder=None)


def events(name: str) -> list[Event]:
    events_flush()
    return list(Event.objects.filter(name=name).order_by("occurred_at", "id"))


def shopper_places_card_order(client, variant) -> Order:
    """Through the site, as a shopper: cart, checkout, the payment page."""
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})
    client.post(reverse("shop:checkout"), CHECKOUT)
    order = Order.objects.get(checkout_token=CHECKOUT["checkout_token"])
    client.get(reverse("shop:order_pay", kwargs={"number": order.number}))
    return Order.objects.get(pk=order.pk)


def test_the_purchase_is_the_shoppers_when_the_webhook_confirms_first(
    localstripe_url, django_capture_on_commit_callbacks
):
    shopper = Client(HTTP_USER_AGENT=BROWSER_UA)
    order = shopper_places_card_order(shopper, VariantFactory(stock=3))
    [started] = events("payment_started")
    assert order.analytics_visitor_id == started.visitor_id != ""
    assert order.analytics_session_id == started.session_id != ""
    card_pay(order.payment_reference)
    intent = intent_of(localstripe_url, order.payment_reference)
    payload = event_payload(
        event_id="evt_purchase", type="payment_intent.succeeded", intent=intent
    )

    stripe = Client(HTTP_USER_AGENT="Stripe/1.0 (+https://stripe.com/docs/webhooks)")
    with django_capture_on_commit_callbacks(execute=True):
        response = stripe.post(
            reverse("shop:stripe_webhook"),
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signed(payload),
        )

    assert response.status_code == 200
    [purchase] = events("purchase")
    assert (purchase.visitor_id, purchase.session_id) == (
        started.visitor_id,
        started.session_id,
    )
    assert purchase.order_id == order.pk
    assert purchase.value == order.total
    # Nothing of Stripe's request: not its path, not its user agent.
    assert not purchase.is_bot
    assert purchase.path == ""
    assert purchase.route == ""


def test_a_signed_in_shoppers_purchase_carries_their_user(
    localstripe_url, django_capture_on_commit_callbacks
):
    user = UserFactory()
    shopper = Client(HTTP_USER_AGENT=BROWSER_UA)
    shopper.force_login(user)
    order = shopper_places_card_order(shopper, VariantFactory(stock=3))
    card_pay(order.payment_reference)

    # Confirmed by the expiry job's process, outside any request.
    with django_capture_on_commit_callbacks(execute=True):
        services.order_payment_sync(order=order)

    [purchase] = events("purchase")
    assert purchase.user_id == user.pk
    assert purchase.session_id == order.analytics_session_id != ""


def test_an_order_placed_outside_a_request_records_its_purchase_as_before(
    django_capture_on_commit_callbacks,
):
    from tests.shop.conftest import card_order

    order = card_order({VariantFactory(stock=3): 1}, token="events-token-outside")
    session = services.order_payment_start(order=order)
    card_pay(session.reference)

    with django_capture_on_commit_callbacks(execute=True):
        services.order_payment_sync(order=order)

    assert order.analytics_visitor_id == ""
    [purchase] = events("purchase")
    assert purchase.order_id == order.pk


def test_a_refund_emits_a_refund_event(django_capture_on_commit_callbacks):
    shopper = Client(HTTP_USER_AGENT=BROWSER_UA)
    order = shopper_places_card_order(shopper, VariantFactory(stock=3))
    card_pay(order.payment_reference)
    order = services.order_payment_sync(order=order)

    with django_capture_on_commit_callbacks(execute=True):
        services.order_refund(order=order, amount=Decimal("2.00"))

    [refund] = events("refund")
    assert refund.order_id == order.pk
    assert refund.value == Decimal("2.00")
