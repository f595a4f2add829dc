"""What a shopper sees: the header, listing cards, filters, search, variants."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _category_row(html: str) -> list[str]:
    row = re.search(r'<ul class="category-row[^"]*"[^>]*>(.*?)</ul>', html, re.S)
    assert row, "no category row in the header"
    return re.findall(r">([^<]+)</a>", row.group(1))


def test_the_header_lists_the_top_categories_on_every_page(client):
    CategoryFactory(name="Outdoor", slug="outdoor", position=2)
    clothing = CategoryFactory(name="Clothing", slug="clothing", position=1)
    CategoryFactory(name="Jackets", slug="jackets", parent=clothing)
    VariantFactory(product=ProductFactory(category=clothing))

    for url in [
        reverse("shop:home"),
        reverse("shop:cart"),
        clothing.get_absolute_url(),
    ]:
        html = client.get(url).content.decode()
        assert _category_row(html) == ["Clothing", "Outdoor"], url
        # The phone's menu lists the same, without JavaScript.
        assert '<details class="category-menu' in html
        assert 'href="/c/outdoor/"' in html


def test_the_header_categories_cost_no_query_once_cached(client):
    CategoryFactory(name="Clothing", slug="clothing")
    client.get(reverse("shop:cart"))

    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("shop:cart")).content.decode()

    assert _category_row(html) == ["Clothing"]
    assert not [q for q in queries if "shop_category" in q["sql"]]


def test_a_new_category_shows_in_the_header_at_once(client):
    CategoryFactory(name="Clothing", slug="clothing")
    client.get(reverse("shop:home"))

    CategoryFactory(name="Garden", slug="garden")

    assert _category_row(client.get(reverse("shop:cart")).content.decode()) == [
        "Clothing",
        "Garden",
    ]


def test_a_listing_card_strikes_through_the_old_price_of_a_sale(client):
    category = CategoryFactory(slug="jackets")
    sale = ProductFactory(category=category, name="Rain Parka")
    VariantFactory(
        product=sale, price=Decimal("90.00"), compare_at_price=Decimal("120.00")
    )
    VariantFactory(product=sale, price=Decimal("95.00"))
    plain = ProductFactory(category=category, name="Quilted Gilet")
    VariantFactory(product=plain, price=Decimal("45.00"), compare_at_price=None)

    html = client.get(category.get_absolute_url()).content.decode()

    cards = dict(
        re.findall(
            r'<h3 class="card-title">([^<]+)</h3>\s*</a>\s*<p class="card-price">(.*?)</p>',
            html,
            re.S,
        )
    )
    assert re.fullmatch(
        r'<span class="price-sale">£90\.00</span> <s class="price-compare">'
        r'<span class="visually-hidden">Was </span>£120\.00</s>',
        cards["Rain Parka"],
    )
    assert cards["Quilted Gilet"] == "£45.00"


def _chips(html: str) -> list[tuple[str, str]]:
    nav = re.search(r'<nav class="active-filters".*?</nav>', html, re.S)
    if not nav:
        return []
    return [
        (re.sub(r"<[^>]+>|Remove filter: |×", "", label).strip(), href)
        for href, label in re.findall(
            r'<a class="[^"]*" href="([^"]*)">(.*?)</a>', nav.group(0)
        )
    ]


def test_active_filters_show_as_removable_chips_with_a_clear_all(client):
    category = CategoryFactory(slug="jackets")
    VariantFactory(product=ProductFactory(category=category), price=Decimal("50"))
    url = category.get_absolute_url()

    html = client.get(
        url + "?sort=price_asc&min_price=10&max_price=&in_stock=on&page=1"
    ).content.decode()

    assert _chips(html) == [
        ("From £10.00", "?sort=price_asc&amp;in_stock=on"),
        ("In stock only", "?sort=price_asc&amp;min_price=10"),
        ("Clear all", "?sort=price_asc"),
    ]
    assert _chips(client.get(url).content.decode()) == []


def test_search_filter_chips_keep_the_query(client):
    VariantFactory(product=ProductFactory(name="Waxed Jacket"), price=Decimal("50"))

    html = client.get("/search/?q=jacket&max_price=80").content.decode()

    assert _chips(html) == [
        ("Up to £80.00", "?q=jacket"),
        ("Clear all", "?q=jacket"),
    ]


def _result_names(client, query: str) -> list[str]:
    html = client.get("/search/", {"q": query}).content.decode()
    return re.findall(r'<h3 class="card-title">([^<]+)</h3>', html)


@pytest.fixture
def jackets_and_journals():
    for name in ["Waxed Jacket", "Fleece Jacket", "Pocket Journal", "Rain Parka"]:
        VariantFactory(product=ProductFactory(name=name, description="Well made."))


@pytest.mark.postgres
def test_a_word_that_matches_brings_in_no_trigram_lookalikes(
    client, jackets_and_journals
):
    assert sorted(_result_names(client, "jacket")) == ["Fleece Jacket", "Waxed Jacket"]


@pytest.mark.postgres
def test_a_typo_ranks_the_true_matches_first(client, jackets_and_journals):
    names = _result_names(client, "jaket")

    assert sorted(names[:2]) == ["Fleece Jacket", "Waxed Jacket"]
    assert "Pocket Journal" not in names


@pytest.mark.postgres
def test_a_search_that_finds_nothing_offers_a_close_spelling(
    client, jackets_and_journals
):
    html = client.get("/search/", {"q": "jakcet"}).content.decode()

    assert "No results for" in html
    assert 'Did you mean <a href="/search/?q=jacket">jacket</a>?' in html


def test_a_search_with_no_close_spelling_offers_none(client, jackets_and_journals):
    html = client.get("/search/", {"q": "zzzzqqq"}).content.decode()

    assert "No results for" in html
    assert "Did you mean" not in html


def test_the_product_page_has_one_control_per_option(client):
    shirt = ProductFactory(name="Oxford Shirt")
    for colour, size, stock in [
        ("Blue", "S", 3),
        ("Blue", "M", 0),
        ("White", "S", 2),
        ("White", "M", 4),
    ]:
        VariantFactory(
            product=shirt,
            options={"Colour": colour, "Size": size},
            option_order=["Colour", "Size"],
            stock=stock,
        )

    html = client.get(shirt.get_absolute_url()).content.decode()

    picker = re.search(
        r"<div class=\"option-picker\" data-option-picker>.*?</div>\s*</fieldset>\s*</div>",
        html,
        re.S,
    ).group(0)
    groups = re.findall(r"<legend>([^<]+)</legend>(.*?)</fieldset>", picker, re.S)
    assert [
        (name, re.findall(r'value="([^"]+)"', values)) for name, values in groups
    ] == [("Colour", ["Blue", "White"]), ("Size", ["S", "M"])]
    # Without JavaScript, the list of variants is the picker (shop.css shows
    # one or the other by the "js" class); each variant names its values
    # for the script.
    assert 'class="variant-picker variant-list-fallback" data-variant-list' in html
    assert re.search(r'data-options="\[&quot;Blue&quot;, &quot;M&quot;\]"', html)
    assert html.count('name="variant"') == 4
