"""
Payment providers.

A provider is chosen at checkout by its `code`; the list of enabled ones is
`SHOP_PAYMENT_PROVIDERS` (dotted paths). A real gateway implements the same
two methods.
"""


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
