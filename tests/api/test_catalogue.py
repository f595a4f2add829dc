"""Catalogue endpoints: tree, listing, search, product; caching and events."""

from decimal import Decimal

import pytest

from shop.services import product_index_refresh
from tests.factories import ProductFactory, VariantFactory


@pytest.fixture
def recorded(monkeypatch):
    """The commerce events the API records, by name."""
    events = []
    monkeypatch.setattr(
        "shop.api.catalogue.event_record",
        lambda **kwargs: events.append(kwargs),
    )
    return events


def test_category_tree_nests_children(api, shelf):
    response = api.get_json("/categories")
    assert response.status_code == 200
    assert response.json() == [
        {
            "slug": "clothing",
            "name": "Clothing",
            "description": "",
            "children": [
                {
                    "slug": "jackets",
                    "name": "Jackets",
                    "description": "",
                    "children": [],
                }
            ],
        }
    ]


def test_catalogue_answers_carry_etag_and_public_cache_control(api, shelf):
    response = api.get_json("/products/waxed-jacket")
    assert response["Cache-Control"] == "public, max-age=60"
    assert response["ETag"].startswith('"')
    again = api.get_json(
        "/products/waxed-jacket", **{"If-None-Match": response["ETag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    weak = api.get_json(
        "/categories", **{"If-None-Match": "W/" + api.get_json("/categories")["ETag"]}
    )
    assert weak.status_code == 304


def test_etag_changes_when_the_catalogue_changes(api, shelf):
    before = api.get_json("/products/waxed-jacket")["ETag"]
    shelf["small"].price = Decimal("99.00")
    shelf["small"].save()
    product_index_refresh(product_ids=[shelf["jacket"].pk])
    after = api.get_json("/products/waxed-jacket", **{"If-None-Match": before})
    assert after.status_code == 200
    assert after["ETag"] != before


def test_product_detail_has_variants_options_images_stock_and_sale(
    api, shelf, recorded
):
    body = api.get_json("/products/waxed-jacket").json()
    assert body["category"] == {"slug": "jackets", "name": "Jackets"}
    assert [c["slug"] for c in body["breadcrumbs"]] == ["clothing", "jackets"]
    assert body["options"] == {"size": ["S", "L"]}
    small, large = body["variants"]
    assert small["price"] == "120.00" and small["compare_at_price"] == "150.00"
    assert small["on_sale"] is True
    assert small["stock_state"] == "low_stock" and small["stock_left"] == 3
    assert large["stock_state"] == "sold_out" and large["in_stock"] is False
    assert body["images"][0]["alt"] == "Front"
    assert body["on_sale"] is True and body["currency"] == "GBP"
    assert recorded == [{"name": "product_view", "product_id": shelf["jacket"].pk}]


def test_product_detail_shows_stock_moved_by_an_order(api, shelf):
    from shop.cache import stock_bump

    api.get_json("/products/waxed-jacket")
    shelf["small"].__class__.objects.filter(pk=shelf["small"].pk).update(stock=1)
    stock_bump([shelf["jacket"].pk])
    body = api.get_json("/products/waxed-jacket").json()
    assert body["variants"][0]["stock_left"] == 1


def test_unknown_or_inactive_product_is_a_problem_404(api, shelf):
    shelf["shirt"].is_active = False
    shelf["shirt"].save()
    for slug in ("no-such-thing", "linen-shirt"):
        response = api.get_json(f"/products/{slug}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["type"] == "urn:northwind:problem:not-found"


def test_listing_covers_subcategories_with_filters_and_sort(api, shelf):
    body = api.get_json("/products?category=clothing&sort=price_asc").json()
    assert [p["slug"] for p in body["items"]] == ["linen-shirt", "waxed-jacket"]
    assert body["count"] == 2 and body["next_cursor"] is None
    cheap = api.get_json("/products?category=clothing&max_price=50").json()
    assert [p["slug"] for p in cheap["items"]] == ["linen-shirt"]


def test_listing_pages_with_cursors(api, category, settings):
    settings.SHOP_PAGE_SIZE = 2
    for i in range(5):
        VariantFactory(product=ProductFactory(category=category, name=f"Item {i}"))
    seen, cursor, pages = [], "", 0
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        body = api.get_json(
            f"/products?category={category.slug}&sort=newest{suffix}"
        ).json()
        seen += [p["slug"] for p in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(set(seen)) == 5


@pytest.mark.parametrize(
    "query",
    [
        "category=clothing&sort=cheapest",
        "category=clothing&min_price=abc",
        "category=clothing&min_price=-1",
        "category=clothing&max_price=1.234",
        "category=bad%00slug",
        "",
    ],
)
def test_bad_listing_parameters_are_422_with_field_errors(api, shelf, query):
    response = api.get_json(f"/products?{query}")
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:northwind:problem:validation-failed"
    assert problem["errors"]


def test_a_cursor_we_never_gave_is_400(api, shelf):
    response = api.get_json("/products?category=clothing&cursor=garbage!")
    assert response.status_code == 400
    assert response.json()["type"] == "urn:northwind:problem:malformed-request"


def test_unknown_category_is_404(api, shelf):
    assert api.get_json("/products?category=nothing-here").status_code == 404


def test_search_finds_by_name_and_records_the_search(api, shelf, recorded):
    body = api.get_json("/search?q=jacket").json()
    assert [p["slug"] for p in body["items"]] == ["waxed-jacket"]
    assert recorded[0]["name"] == "search"
    assert recorded[0]["properties"] == {"query": "jacket", "results": 1}


@pytest.mark.postgres
def test_search_tolerates_typos_on_postgresql(api, shelf):
    body = api.get_json("/search?q=jaket").json()
    assert "waxed-jacket" in [p["slug"] for p in body["items"]]


def test_catalogue_queries_do_not_grow_with_products(
    api, category, django_assert_max_num_queries
):
    def fill(n):
        for _ in range(n):
            product = ProductFactory(category=category)
            VariantFactory(product=product)
            VariantFactory(product=product)

    fill(2)
    with django_assert_max_num_queries(4):
        api.get_json(f"/products?category={category.slug}")
    fill(20)
    with django_assert_max_num_queries(4):
        api.get_json(f"/products?category={category.slug}&sort=price_desc")
    with django_assert_max_num_queries(4):
        api.get_json("/search?q=Product")
    with django_assert_max_num_queries(1):
        api.get_json("/categories")


def test_product_detail_queries_do_not_grow_with_variants_or_images(
    api, category, django_assert_max_num_queries
):
    from tests.factories import ImageFactory

    product = ProductFactory(category=category, slug="many")
    for _ in range(12):
        VariantFactory(product=product)
        ImageFactory(product=product)
    with django_assert_max_num_queries(6):
        assert api.get_json("/products/many").status_code == 200
