"""Presentation helpers used by the storefront templates."""

import json
import re
from decimal import Decimal

import pytest

from adminpanel.templatetags.dashboard import money as dashboard_money
from shop.money import currency_symbol
from shop.templatetags.shop_tags import money, stock_state
from tests.factories import ProductFactory, VariantFactory


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("12.5"), "GBP", "£12.50"),
        (Decimal("1234.005"), "EUR", "€1,234.01"),
        (Decimal("3"), "CHF", "CHF 3.00"),
        (Decimal("-4.95"), "USD", "-$4.95"),
        ("7.1", None, "£7.10"),
        (None, "GBP", ""),
        ("not a number", "GBP", ""),
    ],
)
def test_money_shows_the_currency_and_two_decimals(value, currency, shown):
    assert money(value, currency) == shown


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stock", "label"), [(0, "Sold out"), (2, "Only 2 left"), (50, "In stock")]
)
def test_stock_state_names_low_and_no_stock(settings, stock, label):
    settings.SHOP_LOW_STOCK = 5

    assert stock_state(VariantFactory(stock=stock)) == label


@pytest.mark.parametrize("currency", ["GBP", "EUR", "CHF"])
def test_dashboards_write_money_as_the_shop_does(settings, currency):
    settings.SHOP_CURRENCY = currency
    amount = Decimal("-1234.5")
    assert dashboard_money(amount) == money(amount) == money(amount, currency)
    assert dashboard_money(None) == "—"


def test_dashboard_revenue_charts_use_the_shops_currency_symbol(settings):
    settings.SHOP_CURRENCY = "EUR"
    assert currency_symbol() == "€"
    assert currency_symbol("JPY") == "JPY "


def _jsonld(body: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_an_imported_html_description_shows_as_html_and_plain_in_jsonld(client):
    product = ProductFactory(
        description="<p>Warm <strong>wool</strong> &amp; silk.</p><ul><li>Lined</li></ul>"
    )
    VariantFactory(product=product)

    body = client.get(product.get_absolute_url()).content.decode()

    assert (
        "<p>Warm <strong>wool</strong> &amp; silk.</p><ul><li>Lined</li></ul>" in body
    )
    assert "&lt;p&gt;" not in body
    assert _jsonld(body)["description"] == "Warm wool & silk. Lined"
    assert '<meta name="description" content="Warm wool &amp; silk. Lined">' in body


@pytest.mark.django_db
def test_a_plain_text_description_keeps_its_line_breaks_and_is_escaped(client):
    product = ProductFactory(description="Line one\nstill one.\n\nFish & chips <3")
    VariantFactory(product=product)

    body = client.get(product.get_absolute_url()).content.decode()

    assert "<p>Line one<br>still one.</p>\n\n<p>Fish &amp; chips &lt;3</p>" in body
    assert _jsonld(body)["description"] == "Line one still one. Fish & chips <3"


@pytest.mark.django_db
def test_a_description_is_sanitised_again_however_it_was_stored(client):
    product = ProductFactory(
        description='<p onclick="steal()">Hi</p><script>steal()</script>'
        '<a href="javascript:steal()">x</a><img src=x onerror="steal()">'
    )
    VariantFactory(product=product)

    body = client.get(product.get_absolute_url()).content.decode()

    assert "steal()" not in body
    assert "<p>Hi</p>" in body
