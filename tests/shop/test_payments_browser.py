"""
A shopper pays by card in a real browser (Debian's Chromium, headless)
against localstripe and its Stripe.js stand-in, and sees the paid order.

Narrow mock, said plainly: localstripe's Stripe.js stand-in has no
`confirmPayment` (the Payment Element's confirm) and its card field cannot
confirm a PaymentIntent by itself. The test adds that one method: it hands
the card typed into the stand-in's field to localstripe's real API, server
side (a PaymentMethod, attached and confirmed, as Stripe's servers would on
Stripe.js's behalf), then follows the return URL as Stripe.js does.
Everything else (the PaymentIntent, the return page's server-side check,
the signed webhook) runs over HTTP against localstripe.
"""

import re
from decimal import Decimal

import pytest

from shop.models import Order, ProductVariant
from shop.stripe_local import localstripe_webhook_register
from tests.browser import CHROMIUM_ARGS
from tests.factories import ProductFactory, VariantFactory
from tests.shop.conftest import WEBHOOK_SECRET, card_pay

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("stripe_settings"),
]

CONFIRM_PAYMENT_SHIM = """
(() => {
  let factory;
  Object.defineProperty(window, "Stripe", {
    configurable: true,
    get() { return factory; },
    set(original) {
      factory = (key) => {
        const stripe = original(key);
        let elements;
        const makeElements = stripe.elements;
        stripe.elements = (options) => (elements = makeElements(options));
        stripe.confirmPayment = async ({ confirmParams }) => {
          const card = elements.getElement("payment").value.card;
          const secret = document.querySelector("[data-payment-form]").dataset.clientSecret;
          const error = await window.localstripeConfirm(secret, card.number);
          if (error) return { error: { message: error } };
          window.location.href = confirmParams.return_url;
          return {};
        };
        return stripe;
      };
    },
  });
})();
"""


def test_a_shopper_pays_by_card_and_sees_the_paid_order(
    live_server, chromium_path, localstripe_url
):
    from playwright.sync_api import expect, sync_playwright

    localstripe_webhook_register(
        url=localstripe_url,
        target=live_server.url + "/payments/stripe/webhook/",
        secret=WEBHOOK_SECRET,
    )
    product = ProductFactory(name="Linen Apron", slug="linen-apron")
    variant = VariantFactory(product=product, stock=3, price=Decimal("24.00"))

    def confirm(client_secret: str, number: str) -> str:
        intent = card_pay(client_secret.split("_secret_")[0], number=number)
        return "" if intent["status"] == "succeeded" else "Your card was declined."

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.expose_function("localstripeConfirm", confirm)
        page.add_init_script(CONFIRM_PAYMENT_SHIM)
        page.goto(live_server.url + product.get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
        page.goto(live_server.url + "/checkout/")
        page.get_by_label("Email").fill("carla@example.com")
        page.get_by_label("Full name").fill("Carla Card")
        page.get_by_label("Address", exact=True).fill("3 Mill Lane")
        page.get_by_label("Town or city").fill("Leeds")
        page.get_by_label("Postcode").fill("LS1 1AA")
        page.get_by_label("Card").check()
        page.get_by_role("button", name="Place order").click()

        page.wait_for_url(re.compile(r"/orders/NW-\w+/pay/$"))
        assert ProductVariant.objects.get(pk=variant.pk).stock == 2  # held
        page.get_by_placeholder("number").fill("4242424242424242")
        page.get_by_placeholder("exp_month").fill("12")
        page.get_by_placeholder("exp_year").fill("34")
        page.get_by_placeholder("cvc").fill("123")
        page.get_by_role("button", name=re.compile(r"^Pay £")).click()

        page.wait_for_url(re.compile(r"/orders/NW-\w+/$"))
        expect(page.locator(".status")).to_have_text("Paid")
        browser.close()

    order = Order.objects.get()
    assert (order.status, order.payment_method) == (Order.Status.PAID, "stripe")
    assert ProductVariant.objects.get(pk=variant.pk).stock == 2
