"""
The guest's whole journey in a real browser: Debian's Chromium, headless,
driven by Playwright against the live test server.

Screenshots of every step, on a phone and a laptop viewport, are written to
/tmp/shots/ (not part of the repository) for a person to look at.
"""

import io
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from shop.models import Order, ProductVariant
from tests.browser import CHROMIUM_ARGS
from tests.factories import (
    CategoryFactory,
    ImageFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _photo(colour: str, accent: str) -> ContentFile:
    """A small generated product photo: a flat backdrop with a shape on it."""
    image = Image.new("RGB", (600, 600), colour)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((150, 120, 450, 500), radius=60, fill=accent)
    draw.ellipse((250, 170, 350, 270), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return ContentFile(buffer.getvalue(), name="photo.png")


@pytest.fixture
def catalogue():
    clothing = CategoryFactory(name="Clothing", slug="clothing")
    jackets = CategoryFactory(name="Jackets", slug="jackets", parent=clothing)
    CategoryFactory(name="Home", slug="home-goods", position=1)
    jacket = ProductFactory(
        name="Waxed Cotton Jacket",
        slug="waxed-cotton-jacket",
        category=jackets,
        is_featured=True,
        description="A waxed cotton jacket that keeps the rain out.\n\nCorduroy collar.",
    )
    images = [
        ImageFactory(
            product=jacket,
            url="",
            image=_photo("#e9e4da", "#5b6b3a"),
            alt="Jacket, front",
        ),
        ImageFactory(
            product=jacket,
            url="",
            image=_photo("#dfe6ea", "#5b6b3a"),
            alt="Jacket, back",
            position=1,
        ),
    ]
    VariantFactory(
        product=jacket,
        sku="JKT-S",
        options={"size": "S"},
        price=Decimal("120.00"),
        stock=0,
    )
    VariantFactory(
        product=jacket,
        sku="JKT-M",
        options={"size": "M"},
        price=Decimal("120.00"),
        stock=5,
    )
    large = VariantFactory(
        product=jacket,
        sku="JKT-L",
        options={"size": "L"},
        price=Decimal("110.00"),
        compare_at_price=Decimal("140.00"),
        stock=3,
    )
    for i, (name, colour) in enumerate(
        [
            ("Quilted Gilet", "#3f5a7a"),
            ("Rain Parka", "#8a3b2e"),
            ("Fleece Jacket", "#2f6b52"),
        ]
    ):
        other = ProductFactory(name=name, category=jackets, is_featured=i == 0)
        images.append(
            ImageFactory(
                product=other, url="", image=_photo("#f1eee8", colour), alt=name
            )
        )
        VariantFactory(product=other, price=Decimal(45 + 10 * i), stock=4)
    yield {"category": clothing, "product": jacket, "variant": large}
    for image in images:
        image.image.delete(save=False)


def test_guest_buys_a_jacket_from_home_to_confirmation(
    live_server, chromium_path, catalogue
):
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    problems = []
    transferred = {}

    def on_request(request):
        host = urlsplit(request.url).hostname
        if request.url.startswith("http") and host not in LOOPBACK:
            problems.append(f"request to a non-loopback host: {request.url}")

    def on_console(message):
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_response(response):
        transferred[response.url] = response.request.sizes()["responseBodySize"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        page.on("request", on_request)
        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("response", on_response)

        def shoot(name):
            page.screenshot(path=SHOTS / f"{name}-phone.png", full_page=True)
            page.set_viewport_size(LAPTOP)
            page.screenshot(path=SHOTS / f"{name}-laptop.png", full_page=True)
            page.set_viewport_size(PHONE)

        page.goto(live_server.url + "/")
        # Keyboard users meet the skip link first, and it shows when focused.
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        expect(skip).to_be_focused()
        expect(skip).to_be_in_viewport()
        expect(page.get_by_role("heading", name="Featured")).to_be_visible()
        home_bytes = sum(transferred.values())
        shoot("1-home")

        page.get_by_role("link", name="Clothing").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Clothing")
        expect(page.get_by_text("4 products")).to_be_visible()
        shoot("2-category")

        page.get_by_role("link", name="Waxed Cotton Jacket").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Waxed Cotton Jacket")
        expect(page.get_by_role("radio", name="S")).to_be_disabled()
        page.get_by_role("radio", name=re.compile(r"^L ")).check()
        expect(page.locator("[data-show-price]")).to_have_text("£110.00")
        expect(page.locator("[data-show-compare]")).to_contain_text("£140.00")
        expect(page.locator("[data-show-stock]")).to_have_text("Only 3 left")
        page.get_by_label("Quantity").fill("2")
        shoot("3-product")

        page.get_by_role("button", name="Add to cart").click()
        expect(page).to_have_url(live_server.url + "/cart/")
        expect(page.get_by_role("heading", name="Waxed Cotton Jacket")).to_be_visible()
        expect(page.locator(".cart-line-total")).to_have_text("£220.00")
        expect(page.locator(".cart-count")).to_contain_text("2")
        shoot("4-cart")

        page.get_by_role("link", name="Go to checkout").click()
        page.get_by_label("Email").fill("grace@example.com")
        page.get_by_label("Full name").fill("Grace Guest")
        page.get_by_label("Address", exact=True).fill("2 Mill Lane")
        page.get_by_label("Town or city").fill("Leeds")
        page.get_by_label("Postcode").fill("LS1 1AA")
        page.get_by_label("Express delivery").check()
        expect(page.locator('[data-total-for="express"]')).to_be_visible()
        expect(page.locator('[data-total-for="standard"]')).to_be_hidden()
        shoot("5-checkout")

        page.get_by_role("button", name="Place order").click()
        banner = page.get_by_role("heading", name="Thank you, Grace Guest!")
        expect(banner).to_be_visible()
        number = page.locator(".banner-success .order-number").inner_text()
        shoot("6-confirmation")

        browser.close()

    order = Order.objects.get(number=number)
    assert order.email == "grace@example.com"
    assert order.shipping_method == "express"
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("JKT-L", 2)]
    assert order.total == Decimal("229.95")
    assert ProductVariant.objects.get(sku="JKT-L").stock == 1
    assert problems == []
    # The first load of the home page, images included, stays small even
    # uncompressed (the test server sends static files as they are).
    assert home_bytes < 150_000
