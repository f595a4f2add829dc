"""Presentation helpers for the storefront templates (no business logic)."""

import html
import json
import re
from decimal import Decimal
from typing import NamedTuple

import nh3
from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html, linebreaks, strip_tags
from django.utils.safestring import mark_safe

from shop.catalogue_import import sanitize_html
from shop.money import money_format
from shop.payments import payment_provider

register = template.Library()

# As django.utils.html.json_script: nothing in the data can close the
# <script> element or start an HTML comment.
JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}
BLOCK_END_RE = re.compile(r"<(br|hr|/(p|li|h\d|tr|td|th|blockquote|pre))\b[^>]*>")


@register.filter
def money(value, currency=None) -> str:
    """`12.5` -> `£12.50`; a currency with no symbol shows its code."""
    return money_format(value, currency)


@register.filter
def stock_state(variant) -> str:
    """A short stock label for a variant: in stock, only N left, sold out."""
    if not variant.in_stock:
        return "Sold out"
    if variant.track_inventory and variant.stock <= settings.SHOP_LOW_STOCK:
        return f"Only {variant.stock} left"
    return "In stock"


@register.simple_tag
def default_variant(variants):
    """The variant pre-selected by the picker: the first one in stock."""
    variants = list(variants)
    return next((v for v in variants if v.in_stock), variants[0] if variants else None)


class OptionGroup(NamedTuple):
    """One option of a product (Colour, Size) and its values, in order."""

    name: str
    values: list[str]


@register.simple_tag
def option_groups(variants) -> list[OptionGroup]:
    """
    The options a product's variants differ by, each with its values, for a
    picker with one control per option; none for a single variant.
    """
    variants = list(variants)
    if len(variants) < 2:
        return []
    names: list[str] = []
    for variant in variants:
        # In the order the variant's label shows them (ProductVariant.label).
        order = [n for n in variant.option_order if n in variant.options]
        for name in [*order, *variant.options]:
            if name not in names:
                names.append(name)
    groups = []
    for name in names:
        values: list[str] = []
        for variant in variants:
            value = str(variant.options.get(name, ""))
            if value not in values:
                values.append(value)
        groups.append(OptionGroup(name, values))
    return groups


@register.filter
def option_values(variant, groups) -> str:
    """The variant's value for each option group, as JSON for shop.js."""
    return json.dumps([str(variant.options.get(g.name, "")) for g in groups])


@register.simple_tag
def price_range(variants):
    """(lowest, highest) price of the variants, for a "from" price."""
    prices = [v.price for v in variants]
    return (min(prices), max(prices)) if prices else (None, None)


@register.filter
def shipping_label(code: str) -> str:
    method = settings.SHOP_SHIPPING_METHODS.get(code)
    return method[0] if method else code


@register.filter
def payment_label(code: str) -> str:
    try:
        return payment_provider(code).label
    except KeyError:
        return code


@register.filter
def description_html(text: str) -> str:
    """
    A product description as HTML. Imported descriptions are HTML, shown as
    such once sanitised again (whatever wrote them); plain text is escaped
    and its blank lines become paragraphs, as `linebreaks` does.
    """
    if not text:
        return ""
    if nh3.is_html(text):
        return mark_safe(sanitize_html(text))
    return mark_safe(linebreaks(text, autoescape=True))


@register.filter
def description_text(text: str) -> str:
    """A product description as plain text, for meta tags and JSON-LD."""
    if not text:
        return ""
    # A space where a block ends, so paragraphs do not run together.
    spaced = BLOCK_END_RE.sub(r"\g<0> ", sanitize_html(text))
    plain = html.unescape(strip_tags(spaced))
    return " ".join(plain.split())


@register.simple_tag(takes_context=True)
def product_jsonld(context, product, variants, images):
    """schema.org Product JSON-LD, escaped so data can never end the element."""
    request = context["request"]
    url = request.build_absolute_uri(product.get_absolute_url())
    currency = settings.SHOP_CURRENCY
    offers = [
        {
            "@type": "Offer",
            "sku": v.sku,
            "name": v.label,
            "price": f"{v.price:.2f}",
            "priceCurrency": currency,
            "availability": "https://schema.org/InStock"
            if v.in_stock
            else "https://schema.org/OutOfStock",
            "url": url,
        }
        for v in variants
    ]
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "description": description_text(product.description),
        "url": url,
        "sku": variants[0].sku if variants else "",
        "category": product.category.name,
        "image": [request.build_absolute_uri(image.src) for image in images],
        "brand": {"@type": "Brand", "name": settings.SHOP_NAME},
        "offers": offers[0] if len(offers) == 1 else offers,
    }
    if len(offers) > 1:
        prices = [v.price for v in variants]
        data["offers"] = {
            "@type": "AggregateOffer",
            "lowPrice": f"{min(prices):.2f}",
            "highPrice": f"{max(prices):.2f}",
            "priceCurrency": currency,
            "offerCount": len(offers),
            "offers": offers,
        }
    payload = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return format_html(
        '<script type="application/ld+json">{}</script>',
        mark_safe(payload.translate(JSON_SCRIPT_ESCAPES)),
    )


@register.simple_tag(takes_context=True)
def absolute_url(context, path: str) -> str:
    """`path` as an absolute URL on the host serving this request."""
    return context["request"].build_absolute_uri(path)


@register.simple_tag
def shipping_totals(subtotal):
    """Each shipping method with its price and the order total it makes."""
    subtotal = Decimal(subtotal or 0)
    return [
        {"code": code, "label": label, "price": price, "total": subtotal + price}
        for code, (label, price) in settings.SHOP_SHIPPING_METHODS.items()
    ]


@register.filter
def shipping_price(code: str):
    method = settings.SHOP_SHIPPING_METHODS.get(code)
    return method[1] if method else None
