"""Search engines find every product through the sitemap index."""

import re

import pytest
from django.urls import reverse

from shop.sitemaps import ProductSitemap
from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _locs(body: str) -> list[str]:
    return re.findall(r"<loc>([^<]+)</loc>", body)


def test_the_sitemap_index_reaches_every_product_page_by_page(client, monkeypatch):
    monkeypatch.setattr(ProductSitemap, "limit", 2)
    products = [VariantFactory(product=ProductFactory()).product for _ in range(5)]

    response = client.get(reverse("shop:sitemap"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "<sitemapindex" in body
    sections = _locs(body)
    assert sum("sitemap-products.xml" in loc for loc in sections) == 3
    listed = []
    for loc in sections:
        page = client.get(loc.removeprefix("http://testserver"))
        assert page.status_code == 200, loc
        listed += _locs(page.content.decode())
    for product in products:
        assert f"http://testserver{product.get_absolute_url()}" in listed


def test_robots_txt_points_at_the_sitemap_index(client):
    body = client.get(reverse("shop:robots_txt")).content.decode()

    assert "Sitemap: http://testserver/sitemap.xml" in body
