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


# ISO 4217 currencies with no minor unit, or three decimals, as payment
# gateways count them; every other currency has two.
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL_CURRENCIES = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


def _minor_exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def money_to_minor(amount: Decimal, currency: str) -> int:
    """`Decimal("12.34")`, GBP -> 1234: the integer a gateway is sent."""
    if not isinstance(amount, Decimal):
        raise TypeError("Money is a Decimal, never a float.")
    scaled = amount.scaleb(_minor_exponent(currency))
    return int(scaled.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def money_from_minor(amount: int, currency: str) -> Decimal:
    """1234, GBP -> `Decimal("12.34")`."""
    return Decimal(int(amount)).scaleb(-_minor_exponent(currency))
