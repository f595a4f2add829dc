"""
Payment providers.

A provider is chosen at checkout by its `code`; the list of enabled ones is
`SHOP_PAYMENT_PROVIDERS` (dotted paths). A real gateway implements the same
two methods.
"""

from django.conf import settings
from django.utils.module_loading import import_string


class PaymentProvider:
    code: str = ""
    label: str = ""

    def authorise(self, *, order) -> None:
        """Reserve or take payment for a new order; raise to refuse it."""
        raise NotImplementedError


class CashOnDelivery(PaymentProvider):
    code = "cod"
    label = "Cash on delivery"

    def authorise(self, *, order) -> None:
        # Nothing to take now: the courier collects payment on delivery.
        return None


def payment_providers() -> list[PaymentProvider]:
    """The enabled providers, in the order checkout offers them."""
    return [import_string(path)() for path in settings.SHOP_PAYMENT_PROVIDERS]


def payment_provider(code: str) -> PaymentProvider:
    """The enabled provider with this code; KeyError when there is none."""
    for provider in payment_providers():
        if provider.code == code:
            return provider
    raise KeyError(code)
