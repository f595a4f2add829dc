"""
A shopper's account journey in a real browser (Debian's Chromium, headless,
through Playwright) against the live test server and the local Cognito
stand-in: sign up, confirm, sign in with something in the cart, see the
cart merged, open the order history, sign out.
"""

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import User
from shop.models import Cart
from tests.accounts.conftest import PASSWORD
from tests.browser import CHROMIUM_ARGS
from tests.factories import OrderFactory, VariantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_confirm_sign_in_with_a_merged_cart_and_sign_out(
    live_server, chromium_path, cognito
):
    from playwright.sync_api import expect, sync_playwright

    mug = VariantFactory(product__name="Enamel Mug", stock=5)
    scarf = VariantFactory(product__name="Wool Scarf", stock=5)
    email = "browser@example.com"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        base = live_server.url

        # Sign up and confirm: signed in straight away.
        page.goto(base + reverse("accounts:signup"))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Name").fill("Browser Shopper")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()
        # moto accepts any code; real Cognito checks the emailed one.
        page.get_by_label("Confirmation code").fill("123456")
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

        # Something in the cart while signed in, then sign out.
        page.goto(base + scarf.product.get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()

        # As a guest, add a mug, then sign in: both carts merge.
        page.goto(base + mug.product.get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
        page.goto(base + reverse("accounts:login") + "?next=/cart/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/cart/")
        expect(page.get_by_text("Enamel Mug").first).to_be_visible()
        expect(page.get_by_text("Wool Scarf").first).to_be_visible()
        user = User.objects.get(email=email)
        cart = Cart.objects.get(user=user)
        assert sorted(cart.lines.values_list("variant_id", flat=True)) == sorted(
            [mug.pk, scarf.pk]
        )

        # Order history.
        order = OrderFactory(user=user, email=email)
        page.goto(base + reverse("shop:order_history"))
        expect(page.get_by_role("link", name=order.number)).to_be_visible()

        # Sign out.
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        page.goto(base + reverse("shop:order_history"))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        browser.close()
        # ORM calls inside sync_playwright() ran on a connection of their
        # own (an event loop runs in this thread); close it, or dropping the
        # PostgreSQL test database finds it still in use.
        connection.close()
