"""Listings cost what their page shows, not what the catalogue holds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop import selectors
from shop.models import LISTING_INDEXES
from shop.selectors import SORTS, ListingFilters
from tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_cap(monkeypatch, settings):
    """A cap of 10 products and pages of 4, so that a few rows pass the cap."""
    monkeypatch.setattr(selectors, "LISTING_COUNT_CAP", 10)
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 10)
    settings.SHOP_PAGE_SIZE = 4


def shelf(n, *, name="Lamp"):
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    for i in range(n):
        product = ProductFactory(
            category=child if i % 2 else parent, name=f"{name} {i}"
        )
        VariantFactory(product=product)
    return parent


def queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


@pytest.mark.parametrize("sort", list(SORTS))
def test_listing_and_search_queries_do_not_grow_with_the_catalogue(small_cap, sort):
    filters = ListingFilters(sort=sort)
    small, large = shelf(3), shelf(40, name="Other Lamp")

    def listing(category):
        return lambda: selectors.category_listing(
            category=category, filters=filters, page=2
        )

    assert queries(listing(small)) == queries(listing(large)) == 3
    search = queries(
        lambda: selectors.product_search(query="lamp", filters=filters, page=9)
    )
    assert search <= 2


def test_counts_stop_at_the_cap_and_pages_at_the_last_counted(small_cap, client):
    category = shelf(15)
    listing = selectors.category_listing(
        category=category, filters=ListingFilters(), page=99
    )
    assert (listing.count, listing.capped, listing.count_label) == (10, True, "10+")
    assert (listing.number, listing.num_pages, len(listing.products)) == (3, 3, 2)
    assert not listing.has_next

    found = selectors.product_search(query="lamp", filters=ListingFilters(), page=1)
    assert (found.count, found.capped) == (10, True)

    body = client.get(category.get_absolute_url()).content.decode()
    assert "10+ products" in body
    assert "Page 1 of 3" in body


def test_counts_under_the_cap_are_exact(small_cap):
    listing = selectors.category_listing(
        category=shelf(7), filters=ListingFilters(), page=1
    )
    assert (listing.count, listing.capped, listing.count_label) == (7, False, "7")


def test_the_api_says_when_its_count_is_capped(small_cap, client):
    category = shelf(12)
    body = client.get(f"/api/v1/products?category={category.slug}").json()
    assert body["count"] == 10 and body["count_capped"] is True


@pytest.mark.postgres
def test_every_listing_sort_is_read_in_order_from_an_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'shop_product'"
        )
        names = {row[0] for row in cursor.fetchall()}
    assert set(LISTING_INDEXES) <= names

    category = shelf(4)
    leaf = category.children.get()
    for sort in SORTS:
        for node in (category, leaf):
            queryset = selectors.Product.objects.available().in_category(node)
            queryset = queryset.order_by(*SORTS[sort][1])[:24]
            with connection.cursor() as cursor:
                # Tiny tables: make anything but an ordered index read cost
                # more, so the plan shows whether an index gives the order.
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("SET LOCAL enable_sort = off")
                cursor.execute("SET LOCAL enable_incremental_sort = off")
                cursor.execute("SET LOCAL enable_bitmapscan = off")
                plan = queryset.explain()
            assert "Sort" not in plan, (sort, plan)
            assert "product_" in plan, (sort, plan)


def last_analyzed(table: str):
    with connection.cursor() as cursor:
        # A transaction reads the statistics as first read, unless told not to.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", [table]
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_bulk_loads_analyze_the_tables_they_filled():
    from shop.demo import demo_catalogue_build

    before = last_analyzed("shop_product")
    demo_catalogue_build(products=30)
    after_seed = last_analyzed("shop_product")
    assert after_seed is not None and after_seed != before
    assert last_analyzed("shop_productvariant") is not None


@pytest.mark.postgres
def test_a_product_found_by_its_words_and_its_sku_is_listed_once():
    VariantFactory(product=ProductFactory(name="Linen Shirt"), sku="LINEN")
    VariantFactory(product=ProductFactory(name="Linen Scarf"), sku="SCARF-1")

    found = selectors.product_search(query="linen", filters=ListingFilters(), page=1)

    assert found.count == 2
    assert sorted(p.name for p in found.products) == ["Linen Scarf", "Linen Shirt"]
