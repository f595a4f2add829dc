"""
Payment providers.

A provider is chosen at checkout by its `code`; the list of enabled ones is
`SHOP_PAYMENT_PROVIDERS` (dotted paths). Cash on delivery takes nothing up
front. A card gateway (`shop.stripe_gateway.StripeProvider`) sets
`holds_stock`: its orders wait, stock held, until the payment succeeds, and
it implements the payment and refund methods below. docs/payments.md has the
states and the flow.
"""

import enum
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.module_loading import import_string


class PaymentError(Exception):
    """The provider refused or could not be reached; the message is for staff."""


class PaymentState(enum.StrEnum):
    """Where a payment stands, as the provider reports it."""

    PENDING = "pending"  # not paid yet, may still be
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # this attempt failed; the shopper may try again
    CANCELED = "canceled"  # will never be paid


@dataclass(frozen=True)
class PaymentSession:
    """What the payment page needs to let the shopper pay."""

    reference: str
    client_secret: str


@dataclass(frozen=True)
class PaymentUpdate:
    """A provider's verified news about one payment (a webhook, a retrieve)."""

    reference: str
    state: PaymentState
    order_number: str = ""


class PaymentProvider:
    code: str = ""
    label: str = ""
    # True: the order is `awaiting_payment` with its stock held until paid.
    holds_stock: bool = False

    def authorise(self, *, order) -> None:
        """Reserve or take payment for a new order; raise to refuse it."""
        raise NotImplementedError

    def payment_start(self, *, order) -> PaymentSession:
        """Open (or reopen) the payment of `order`; idempotent."""
        raise NotImplementedError

    def payment_retrieve(self, *, reference: str) -> PaymentUpdate:
        """Ask the provider, server to server, where a payment stands."""
        raise NotImplementedError

    def payment_cancel(self, *, reference: str) -> None:
        """Stop a payment that has not succeeded; it can no longer be paid."""
        raise NotImplementedError

    def refund(self, *, order, amount: Decimal, key: str) -> str:
        """Give `amount` back; returns the provider's refund id. `key` is idempotent."""
        raise NotImplementedError


class CashOnDelivery(PaymentProvider):
    code = "cod"
    label = "Cash on delivery"

    def authorise(self, *, order) -> None:
        # Nothing to take now: the courier collects payment on delivery.
        return None

    def refund(self, *, order, amount: Decimal, key: str) -> str:
        # Cash is handed back by staff; the refund row is the record.
        return ""


def payment_providers() -> list[PaymentProvider]:
    """The enabled providers, in the order checkout offers them."""
    return [import_string(path)() for path in settings.SHOP_PAYMENT_PROVIDERS]


def payment_provider(code: str) -> PaymentProvider:
    """The enabled provider with this code; KeyError when there is none."""
    for provider in payment_providers():
        if provider.code == code:
            return provider
    raise KeyError(code)
