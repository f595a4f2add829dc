"""Card payments: localstripe, the Stripe stand-in, over real HTTP."""

import hashlib
import hmac
import json
import time

import pytest
import requests
import stripe

from shop import services
from shop.models import Cart
from shop.stripe_gateway import stripe_client
from shop.stripe_local import localstripe_running
from tests.factories import checkout_details

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture(scope="session")
def localstripe_url():
    with localstripe_running() as url:
        yield url


@pytest.fixture
def stripe_settings(settings, localstripe_url):
    """Card payments on, against localstripe."""
    settings.STRIPE_SECRET_KEY = "sk_test_shop"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_shop"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_JS_URL = f"{localstripe_url}/js.stripe.com/v3/"
    settings.SHOP_PAYMENT_PROVIDERS = [
        "shop.payments.CashOnDelivery",
        "shop.stripe_gateway.StripeProvider",
    ]
    return settings


def card_order(variants: dict, *, token: str):
    """A card order of {variant: quantity}, placed from a cart of its own."""
    cart = Cart.objects.create(session_key=token[-32:])
    for variant, quantity in variants.items():
        services.cart_add(cart=cart, variant=variant, quantity=quantity)
    return services.order_place(
        cart=cart,
        details=checkout_details(payment_method="stripe"),
        checkout_token=token,
    )


def card_pay(reference: str, *, number: str = "4242424242424242") -> dict:
    """
    What Stripe.js does when the shopper submits the Payment Element: a
    PaymentMethod for the card, attached to the PaymentIntent, confirmed.

    localstripe's confirm endpoint refuses a `payment_method` argument
    ("Not implemented"), so it is attached by an update first.
    """
    client = stripe_client()
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    client.v1.payment_intents.update(reference, params={"payment_method": method.id})
    try:
        return client.v1.payment_intents.confirm(reference)
    except stripe.CardError:
        return client.v1.payment_intents.retrieve(reference)


def signed(payload: bytes, *, secret: str = WEBHOOK_SECRET, at=None) -> str:
    """A Stripe-Signature header, computed exactly as Stripe computes it."""
    timestamp = int(time.time() if at is None else at)
    mac = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={mac}"


def event_payload(*, event_id: str, type: str, intent: dict) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type,
            "created": int(time.time()),
            "data": {"object": dict(intent)},
        }
    ).encode()


def intent_of(localstripe_url: str, reference: str) -> dict:
    """The PaymentIntent as localstripe holds it, as plain JSON."""
    response = requests.get(
        f"{localstripe_url}/v1/payment_intents/{reference}",
        headers={"Authorization": "Bearer sk_test_shop"},
        timeout=5,
    )
    response.raise_for_status()
    return response.json()
