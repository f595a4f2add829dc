"""
Card payments through Stripe: PaymentIntents, refunds and webhook events.

The one module that talks to Stripe. `STRIPE_API_BASE` points the client at
Stripe or at localstripe, the local stand-in (`make run`, the tests).
Amounts go out in the currency's minor units, computed from `Decimal`.
"""

from dataclasses import dataclass
from decimal import Decimal

import stripe
from django.conf import settings

from .money import money_to_minor
from .payments import (
    PaymentError,
    PaymentProvider,
    PaymentSession,
    PaymentState,
    PaymentUpdate,
)

# PaymentIntent events that move an order; every other event is ignored.
EVENT_STATES = {
    "payment_intent.succeeded": PaymentState.SUCCEEDED,
    "payment_intent.payment_failed": PaymentState.FAILED,
    "payment_intent.canceled": PaymentState.CANCELED,
}


class WebhookRejected(Exception):
    """A payload that is not a genuine, recent event from Stripe."""


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    update: PaymentUpdate | None


def stripe_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT),
    )


def _state(intent: dict) -> PaymentState:
    status = intent["status"]
    if status == "succeeded":
        return PaymentState.SUCCEEDED
    if status == "canceled":
        return PaymentState.CANCELED
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return PaymentState.FAILED
    return PaymentState.PENDING


def _update(intent: dict, state: PaymentState | None = None) -> PaymentUpdate:
    """A PaymentIntent (as a plain dict) as news about its order."""
    return PaymentUpdate(
        reference=intent["id"],
        state=state or _state(intent),
        order_number=(intent.get("metadata") or {}).get("order", ""),
    )


class StripeProvider(PaymentProvider):
    code = "stripe"
    label = "Card"
    holds_stock = True

    def authorise(self, *, order) -> None:
        # The PaymentIntent is opened on the payment page, after the order
        # (and its stock hold) commits: no network call under row locks.
        return None

    def payment_start(self, *, order) -> PaymentSession:
        client = stripe_client()
        try:
            if order.payment_reference:
                intent = client.v1.payment_intents.retrieve(order.payment_reference)
            else:
                intent = client.v1.payment_intents.create(
                    params={
                        # Recomputed on the server at checkout; never from
                        # the browser.
                        "amount": money_to_minor(order.total, order.currency),
                        "currency": order.currency.lower(),
                        "payment_method_types": ["card"],
                        "metadata": {"order": order.number},
                    },
                    # A retried request opens no second PaymentIntent.
                    options={"idempotency_key": f"order-{order.number}-payment"},
                )
        except stripe.StripeError as exc:
            raise PaymentError(f"Stripe: {exc.user_message or exc}") from exc
        return PaymentSession(
            reference=intent["id"], client_secret=intent["client_secret"]
        )

    def payment_retrieve(self, *, reference: str) -> PaymentUpdate:
        try:
            intent = stripe_client().v1.payment_intents.retrieve(reference)
        except stripe.StripeError as exc:
            raise PaymentError(f"Stripe: {exc.user_message or exc}") from exc
        return _update(intent.to_dict())

    def payment_cancel(self, *, reference: str) -> None:
        client = stripe_client()
        try:
            intent = client.v1.payment_intents.retrieve(reference)
            if intent["status"] not in {"succeeded", "canceled", "processing"}:
                client.v1.payment_intents.cancel(reference)
        except stripe.StripeError as exc:
            raise PaymentError(f"Stripe: {exc.user_message or exc}") from exc

    def refund(self, *, order, amount: Decimal, key: str) -> str:
        try:
            refund = stripe_client().v1.refunds.create(
                params={
                    "payment_intent": order.payment_reference,
                    "amount": money_to_minor(amount, order.currency),
                    "metadata": {"order": order.number},
                },
                options={"idempotency_key": key},
            )
        except stripe.StripeError as exc:
            raise PaymentError(f"Stripe: {exc.user_message or exc}") from exc
        return refund["id"]


def stripe_event_verify(*, payload: bytes, signature: str) -> WebhookEvent:
    """
    Check a webhook's signature with Stripe's own check, then read it.

    Raises WebhookRejected for a missing, forged or stale signature or a
    payload that is not an event.
    """
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise WebhookRejected("No webhook secret is configured.")
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
        )
    except (ValueError, KeyError, stripe.SignatureVerificationError) as exc:
        raise WebhookRejected(str(exc)) from exc
    data = event.to_dict()
    state = EVENT_STATES.get(data["type"])
    update = _update(data["data"]["object"], state) if state else None
    return WebhookEvent(id=data["id"], type=data["type"], update=update)
