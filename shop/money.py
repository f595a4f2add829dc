"""Money as shoppers and staff read it: one format for pages, emails and exports."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
CENT = Decimal("0.01")


def currency_symbol(currency: str | None = None) -> str:
    """`GBP` -> `£`; a currency with no symbol is written as its code."""
    code = currency or settings.SHOP_CURRENCY
    return CURRENCY_SYMBOLS.get(code, f"{code} ")


def money_format(value, currency: str | None = None) -> str:
    """`12.5` -> `£12.50`, `-1234` -> `-£1,234.00`; "" for no amount."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}{currency_symbol(currency)}{abs(amount):,.2f}"
