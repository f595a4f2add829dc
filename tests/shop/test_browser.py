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
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image, ImageDraw

from shop.models import Order, ProductVariant
from tests.browser import CHROMIUM_ARGS
from tests.factories import (
    CategoryFactory,
    ImageFactory,
    ProductFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
LONG_EMAIL = "grace.with.a.remarkably.long.address@northwind-goods-example.co.uk"
# How far the page is wider than the viewport (0 when nothing overflows).
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


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
        options={"Colour": "Olive", "Size": "S"},
        option_order=["Colour", "Size"],
        price=Decimal("120.00"),
        stock=0,
    )
    VariantFactory(
        product=jacket,
        sku="JKT-M",
        options={"Colour": "Olive", "Size": "M"},
        option_order=["Colour", "Size"],
        price=Decimal("120.00"),
        stock=5,
    )
    large = VariantFactory(
        product=jacket,
        sku="JKT-L",
        options={"Colour": "Navy", "Size": "L"},
        option_order=["Colour", "Size"],
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
            # Nothing on the page is wider than the phone.
            assert page.evaluate(OVERFLOW) <= 0, f"{name} overflows a phone"
            page.screenshot(path=SHOTS / f"{name}-phone.png", full_page=True)
            page.set_viewport_size(LAPTOP)
            # On a laptop, the categories are a row in the header.
            expect(page.locator(".category-row")).to_be_visible()
            expect(page.locator(".category-menu")).to_be_hidden()
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
        # The consent banner is seen on arrival, fixed to the viewport's foot
        # rather than pushing the page down.
        banner = page.locator("[data-consent-banner]")
        expect(banner).to_be_in_viewport()
        assert banner.evaluate("b => getComputedStyle(b).position") == "fixed"
        shoot("1-home")

        # On a phone, the categories are a menu in the header.
        page.locator(".category-menu summary").click()
        page.locator(".category-menu-list").get_by_role("link", name="Clothing").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Clothing")
        expect(page.get_by_text("4 products")).to_be_visible()
        shoot("2-category")

        # Filters send no empty parameters, and show as removable chips.
        page.get_by_label("Minimum price").fill("50")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(re.compile(r"min_price=50"))
        assert re.search(r"=(&|$)", urlsplit(page.url).query) is None, page.url
        expect(page.get_by_text("3 products")).to_be_visible()
        page.get_by_role("link", name="Remove filter: From £50.00").click()
        expect(page.get_by_text("4 products")).to_be_visible()
        assert "min_price" not in page.url

        page.get_by_role("link", name="Waxed Cotton Jacket").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Waxed Cotton Jacket")
        # One control per option; the first variant in stock is chosen, and
        # a sold-out or missing combination is marked.
        picker = page.locator("[data-option-picker]")
        expect(picker).to_be_visible()
        expect(page.locator("[data-variant-list]")).to_be_hidden()
        expect(picker.locator('input[value="Olive"]')).to_be_checked()
        expect(picker.locator('input[value="M"]')).to_be_checked()
        expect(picker.locator('.option-value:has(input[value="S"])')).to_have_class(
            re.compile("is-unavailable")
        )
        picker.locator('input[value="Navy"]').check()
        expect(page.locator("[data-show-stock]")).to_have_text(
            "Not available in this combination"
        )
        expect(page.get_by_role("button", name="Add to cart")).to_be_disabled()
        picker.locator('input[value="L"]').check()
        expect(page.locator("[data-show-price]")).to_have_text("£110.00")
        expect(page.locator("[data-show-compare]")).to_contain_text("£140.00")
        expect(page.locator("[data-show-stock]")).to_have_text("Only 3 left")
        expect(page.get_by_role("button", name="Add to cart")).to_be_enabled()
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

        # Signed in (the session of a user with a long email), the order
        # history lists the order with its units and total.
        shopper = UserFactory(email=LONG_EMAIL, name="Grace Guest")
        Order.objects.filter(number=number).update(user=shopper)
        signed_in = Client()
        signed_in.force_login(shopper)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": signed_in.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        page.goto(live_server.url + "/accounts/orders/")
        card = page.locator(".order-card", has_text=number)
        expect(card).to_be_visible()
        expect(card.locator(".order-card-facts")).to_contain_text("2")
        expect(card.locator(".order-card-total")).to_have_text("£229.95")
        # The signed-in header stays one compact row on a phone.
        brand = page.locator(".brand").bounding_box()
        account = page.locator(".account-link").bounding_box()
        assert abs(brand["y"] - account["y"]) < 12
        # Every account tab shows without scrolling the row.
        tabs = page.locator(".tabs")
        assert tabs.evaluate("t => t.scrollWidth - t.clientWidth") <= 0
        shoot("7-orders")
        page.goto(live_server.url + "/accounts/")
        expect(page.get_by_text(LONG_EMAIL)).to_be_visible()
        shoot("8-account")
        page.goto(live_server.url + "/no-such-page/")
        expect(
            page.get_by_role("heading", name="We can’t find that page")
        ).to_be_visible()
        shoot("9-not-found")
        # The browser reports the 404 status itself; nothing else is wrong.
        problems.remove(
            "console error: Failed to load resource: the server responded "
            "with a status of 404 (Not Found)"
        )

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


# Installed before any page script: for each frame the browser renders
# (requestAnimationFrame runs right before painting), what the header's
# cart count and account link show, and the layout shift seen.
FRAMES_RECORDER = """
window.__frames = []; window.__cls = 0;
new PerformanceObserver(list => { for (const e of list.getEntries())
  if (!e.hadRecentInput) window.__cls += e.value; }).observe({type: "layout-shift", buffered: true});
(function frame() {
  const count = document.querySelector("[data-header-count-value]");
  const signIn = document.querySelector("[data-header-guest]");
  if (count) window.__frames.push([count.textContent, !!signIn && !signIn.hidden]);
  if (window.__frames.length < 30) requestAnimationFrame(frame);
})();
"""


def test_the_header_shows_the_shoppers_own_parts_on_shared_pages(
    live_server, chromium_path, catalogue
):
    """
    Catalogue pages are one cached body for everyone; after adding to the
    cart, and once signed in, the next such page shows the shopper's cart
    count and name from the first frame painted (no flash of the anonymous
    header, no layout shift), and the same page, fetched without the
    shopper's cookies, shows none of it.
    """
    from playwright.sync_api import expect, sync_playwright

    category = live_server.url + catalogue["category"].get_absolute_url()
    product = live_server.url + catalogue["product"].get_absolute_url()
    Client().get(catalogue["category"].get_absolute_url())  # cache the shared page
    shopper = UserFactory(email="hana@example.com", name="Hana Ito", is_staff=True)
    signed_in = Client()
    signed_in.force_login(shopper)
    problems = []

    def frames(page):
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)
        return page.evaluate("[window.__frames, window.__cls]")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport=LAPTOP)
        context.add_init_script(FRAMES_RECORDER)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(category)
        painted, shift = frames(page)
        assert painted and all(count == "0" for count, _ in painted)

        page.goto(product)
        # The option picker is laid out from the first paint (the "js"
        # class comes with the header script), so nothing moves.
        _, shift = frames(page)
        assert shift == 0
        page.locator('[data-option-picker] input[value="Navy"]').check()
        page.locator('[data-option-picker] input[value="L"]').check()
        page.get_by_label("Quantity").fill("2")
        page.get_by_role("button", name="Add to cart").click()
        expect(page).to_have_url(live_server.url + "/cart/")

        page.goto(category)
        expect(page.locator("[data-header-shared]")).to_have_count(1)
        painted, shift = frames(page)
        assert painted and all(count == "2" for count, _ in painted), painted
        assert shift == 0
        expect(page.locator(".cart-count")).to_have_attribute("data-count", "2")
        expect(page.locator(".cart-link")).to_have_accessible_name(re.compile("2 items"))
        # The page as it came from the server is the shared, anonymous one.
        assert 'data-count="0"' in page.evaluate(
            "fetch(location.href, {credentials: 'omit'}).then(r => r.text())"
        )

        # Signed in: the session cookie is all the browser has at first; the
        # header cookie comes with the first page.
        context.clear_cookies()
        context.add_cookies([{
            "name": settings.SESSION_COOKIE_NAME,
            "value": signed_in.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url,
        }])
        page.goto(category)
        painted, shift = frames(page)
        assert painted and all(not guest for _, guest in painted), painted
        assert shift == 0
        expect(page.locator(".account-label")).to_have_text("Hana")
        expect(page.get_by_role("link", name="Dashboard")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.get_by_role("link", name="Sign in")).to_be_hidden()

        # Without JavaScript the same page is the anonymous one, and works.
        plain = browser.new_context(viewport=LAPTOP, java_script_enabled=False)
        bare = plain.new_page()
        bare.goto(category)
        expect(bare.get_by_role("link", name="Sign in")).to_be_visible()
        bare.locator(".cart-link").click()
        expect(bare).to_have_url(live_server.url + "/cart/")
        # Its form posts too: the page carries this visitor's CSRF token.
        bare.goto(product)
        variant = catalogue["variant"].pk
        bare.locator(f'input[name="variant"][value="{variant}"]').check()
        bare.get_by_role("button", name="Add to cart").click()
        expect(bare).to_have_url(live_server.url + "/cart/")
        expect(bare.locator(".cart-count")).to_have_attribute("data-count", "1")
        browser.close()
    assert problems == []
