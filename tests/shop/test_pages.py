"""Rendering of the storefront pages: content, markup for crawlers, errors."""

import json
import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from shop.emails import order_email_message
from shop.models import Order
from tests.factories import (
    CategoryFactory,
    ImageFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

JSONLD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def _jsonld(html: str) -> dict:
    blocks = JSONLD.findall(html)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def _checkout_data(**overrides):
    data = {
        "email": "guest@example.com",
        "full_name": "Grace Guest",
        "address_line1": "2 Mill Lane",
        "city": "Leeds",
        "postcode": "LS1 1AA",
        "country": "GB",
        "shipping_method": "standard",
        "payment_method": "cod",
        "checkout_token": "t" * 24,
    }
    return {**data, **overrides}


def test_home_shows_featured_products_with_prices_in_the_shop_currency(client):
    product = ProductFactory(name="Linen Shirt", is_featured=True)
    VariantFactory(product=product, price=Decimal("34.5"))

    response = client.get(reverse("shop:home"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Linen Shirt" in html
    assert "£34.50" in html
    assert f'href="{product.get_absolute_url()}"' in html
    assert '<link rel="canonical" href="http://testserver/">' in html


def test_category_lists_products_of_descendant_categories(client):
    parent = CategoryFactory(name="Clothing")
    child = CategoryFactory(name="Coats", parent=parent)
    coat = ProductFactory(name="Wool Coat", category=child)
    VariantFactory(product=coat)

    response = client.get(parent.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Clothing</h1>" in html
    assert "Wool Coat" in html
    assert f'href="/c/{child.slug}/"' in html  # subcategory chip
    assert "1 product" in html


def test_pagination_keeps_sort_and_filters(client, settings):
    category = CategoryFactory()
    for i in range(settings.SHOP_PAGE_SIZE + 1):
        VariantFactory(product=ProductFactory(category=category), price=Decimal(10 + i))

    response = client.get(
        category.get_absolute_url(), {"sort": "price_desc", "in_stock": "on"}
    )

    html = response.content.decode()
    assert "Page 1 of 2" in html
    next_link = re.search(r'<a [^>]*rel="next" href="([^"]+)"', html).group(1)
    assert "sort=price_desc" in next_link
    assert "in_stock=on" in next_link
    assert "page=2" in next_link
    page_two = client.get(category.get_absolute_url() + next_link.replace("&amp;", "&"))
    assert "Page 2 of 2" in page_two.content.decode()
    # Sorted high to low: the cheapest product is alone on the last page.
    assert "£10.00" in page_two.content.decode()


def test_product_page_has_title_meta_canonical_and_jsonld(client):
    product = ProductFactory(name="Canvas Tote", description="A sturdy everyday bag.")
    VariantFactory(product=product, sku="TOTE-1", price=Decimal("18.00"), stock=3)
    image = ImageFactory(product=product, alt="The tote, front")

    response = client.get(product.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Canvas Tote | " in html
    assert '<meta name="description" content="A sturdy everyday bag.">' in html
    assert (
        f'<link rel="canonical" href="http://testserver{product.get_absolute_url()}">'
        in html
    )
    data = _jsonld(html)
    assert data["@type"] == "Product"
    assert data["name"] == "Canvas Tote"
    assert data["offers"]["@type"] == "Offer"
    assert data["offers"]["price"] == "18.00"
    assert data["offers"]["priceCurrency"] == "GBP"
    assert data["offers"]["availability"] == "https://schema.org/InStock"
    assert data["image"] == [image.url]
    assert 'alt="The tote, front"' in html
    assert "Only 3 left" in html


def test_jsonld_of_several_variants_is_an_aggregate_offer(client):
    product = ProductFactory()
    VariantFactory(product=product, price=Decimal("10.00"), options={"size": "S"})
    VariantFactory(
        product=product, price=Decimal("12.00"), options={"size": "L"}, stock=0
    )

    data = _jsonld(client.get(product.get_absolute_url()).content.decode())

    offers = data["offers"]
    assert offers["@type"] == "AggregateOffer"
    assert (offers["lowPrice"], offers["highPrice"]) == ("10.00", "12.00")
    assert [o["availability"].rsplit("/", 1)[1] for o in offers["offers"]] == [
        "InStock",
        "OutOfStock",
    ]


def test_jsonld_cannot_be_broken_out_of_by_product_text(client):
    product = ProductFactory(
        name="</script><script>alert(1)</script>", description="<!-- & -->"
    )
    VariantFactory(product=product)

    html = client.get(product.get_absolute_url()).content.decode()

    block = JSONLD.findall(html)[0]
    assert "<" not in block and ">" not in block
    assert json.loads(block)["name"] == "</script><script>alert(1)</script>"
    assert "<script>alert(1)" not in html


def test_variant_picker_disables_sold_out_variants_and_preselects_one_in_stock(client):
    product = ProductFactory()
    sold_out = VariantFactory(product=product, options={"size": "S"}, stock=0)
    small_stock = VariantFactory(
        product=product,
        options={"size": "M"},
        price=Decimal("25.00"),
        compare_at_price=Decimal("30.00"),
        stock=8,
    )

    html = client.get(product.get_absolute_url()).content.decode()

    sold_out_input = re.search(
        rf'<input[^>]*id="variant-{sold_out.pk}"[^>]*>', html, re.S
    )
    in_stock_input = re.search(
        rf'<input[^>]*id="variant-{small_stock.pk}"[^>]*>', html, re.S
    )
    assert "disabled" in sold_out_input.group(0)
    assert "checked" not in sold_out_input.group(0)
    assert "checked" in in_stock_input.group(0)
    assert "Sold out" in html
    assert "£30.00" in html  # compare-at price of the selected variant
    assert f'action="{reverse("shop:cart_add")}"' in html
    assert "csrfmiddlewaretoken" in html


def test_product_with_every_variant_sold_out_cannot_be_added(client):
    product = ProductFactory()
    VariantFactory(product=product, stock=0)

    html = client.get(product.get_absolute_url()).content.decode()

    assert "Add to cart" not in html
    assert "disabled>Sold out</button>" in html


def test_unknown_product_gets_the_shop_404_page(client):
    response = client.get("/p/no-such-thing/")

    assert response.status_code == 404
    assert "We can’t find that page" in response.content.decode()
    assert 'role="search"' in response.content.decode()


def test_unknown_category_gets_a_404(client):
    assert client.get("/c/no-such-category/").status_code == 404


def test_search_with_no_results_helps_the_shopper(client):
    CategoryFactory(name="Kitchen")

    response = client.get(reverse("shop:search"), {"q": "zzqx"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "couldn’t find anything for “zzqx”" in html
    assert "Check the spelling" in html
    assert "Kitchen" in html
    assert f'href="{reverse("shop:home")}"' in html


def test_search_lists_matches(client):
    VariantFactory(product=ProductFactory(name="Enamel Mug"))

    html = client.get(reverse("shop:search"), {"q": "mug"}).content.decode()

    assert "Enamel Mug" in html
    assert "1 product found" in html


def test_cart_shows_lines_with_update_and_remove_forms(client, variant):
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 2})

    response = client.get(reverse("shop:cart"))

    html = response.content.decode()
    line = response.context["lines"][0]
    assert variant.product.name in html
    assert f'action="{reverse("shop:cart_update", args=[line.pk])}"' in html
    assert f'action="{reverse("shop:cart_remove", args=[line.pk])}"' in html
    assert html.count("csrfmiddlewaretoken") >= 2
    assert "£40.00" in html  # 2 x £20.00
    assert f'href="{reverse("shop:checkout")}"' in html


def test_checkout_lists_problems_when_stock_ran_out(client, variant):
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 2})
    variant.stock = 1
    variant.save()

    html = client.get(reverse("shop:checkout")).content.decode()

    assert 'class="alert alert-error" role="alert"' in html
    assert "Please check your cart first" in html


def test_checkout_errors_are_shown_next_to_the_fields(client, variant):
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})

    response = client.post(reverse("shop:checkout"), _checkout_data(email="nope"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Please correct the 1 problem below." in html
    assert 'aria-invalid="true"' in html
    assert "Enter a valid email address." in html


def test_placed_order_shows_a_thank_you_with_the_order_number(client, variant):
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})

    response = client.post(reverse("shop:checkout"), _checkout_data(), follow=True)

    order = Order.objects.get()
    html = response.content.decode()
    assert "Thank you, Grace Guest!" in html
    assert order.number in html
    assert "£24.95" in html  # £20.00 plus standard delivery
    assert "Cash on delivery" in html


def test_order_lookup_form_has_labelled_fields(client):
    html = client.get(reverse("shop:order_lookup")).content.decode()

    assert '<label for="id_number">Order number</label>' in html
    assert '<label for="id_email">Email</label>' in html


def test_server_error_page_renders_without_a_request_or_database():
    html = render_to_string("500.html")

    assert "Something went wrong" in html
    assert 'href="/"' in html


def test_confirmation_email_lists_the_order_in_plain_text(mailoutbox):
    order = OrderFactory(number="NW-ABCD2345", full_name="Ada <Buyer>")
    OrderLineFactory(order=order, product_name="Wool Scarf", options={"colour": "Red"})

    order_email_message(order=order, kind="confirmed").send()

    body = mailoutbox[0].body
    assert "Hello Ada <Buyer>," in body  # plain text: nothing HTML-escaped
    assert "Order number: NW-ABCD2345" in body
    assert "2 x Wool Scarf (Red)  £40.00" in body
    assert "Total: £44.95" in body
    assert "/orders/NW-ABCD2345/" in body


def test_cached_home_sections_show_a_renamed_product_at_once(client):
    product = ProductFactory(name="Old Name", is_featured=True)
    VariantFactory(product=product)
    assert "Old Name" in client.get(reverse("shop:home")).content.decode()

    product.name = "New Name"
    product.save()

    html = client.get(reverse("shop:home")).content.decode()
    assert "New Name" in html
    assert "Old Name" not in html
