"""The last units are sold once, however many shoppers race for them."""

import re
import threading

import pytest
import requests

from shop.models import Order, ProductVariant
from tests.factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHECKOUT = {
    "email": "racer@example.com",
    "full_name": "Rita Racer",
    "address_line1": "2 Fast Lane",
    "city": "Leeds",
    "postcode": "LS1 4AP",
    "country": "GB",
    "shipping_method": "standard",
    "payment_method": "cod",
}


def _shopper_ready(base: str, variant_id: int, product_url: str) -> tuple:
    """A browser-like session with one unit in its cart, at the checkout form."""
    session = requests.Session()
    session.get(base + product_url, timeout=10)
    token = session.cookies["csrftoken"]
    response = session.post(
        base + "/cart/add/",
        data={"variant": variant_id, "quantity": 1, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    page = session.get(base + "/checkout/", timeout=10).text
    checkout_token = re.search(r'name="checkout_token" value="([^"]+)"', page).group(1)
    return session, token, checkout_token


def _checkouts_at_once(base: str, shoppers: list[tuple]) -> list[tuple]:
    """Post each shopper's checkout form at the same moment: (status, Location)."""
    barrier = threading.Barrier(len(shoppers))
    answers = []

    def buy(session, csrf, checkout_token):
        barrier.wait()
        response = session.post(
            base + "/checkout/",
            data={
                **CHECKOUT,
                "csrfmiddlewaretoken": csrf,
                "checkout_token": checkout_token,
            },
            allow_redirects=False,
            timeout=30,
        )
        answers.append((response.status_code, response.headers.get("Location", "")))

    threads = [threading.Thread(target=buy, args=shopper) for shopper in shoppers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_last_units_are_sold_once_under_concurrency(live_server, settings):
    # The live server speaks plain HTTP, so cookies must not be Secure-only.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    product = ProductFactory()
    variant = VariantFactory(product=product, stock=5)
    shoppers = [
        _shopper_ready(live_server.url, variant.pk, product.get_absolute_url())
        for _ in range(20)
    ]
    answers = _checkouts_at_once(live_server.url, shoppers)
    statuses = [status for status, _ in answers]
    locations = [location for _, location in answers]

    assert all(status < 500 for status in statuses), statuses
    assert sum(loc.startswith("/orders/") for loc in locations) == 5
    assert sum(loc == "/cart/" for loc in locations) == 15
    assert Order.objects.count() == 5
    assert ProductVariant.objects.get(pk=variant.pk).stock == 0


def test_one_form_posted_twenty_times_at_once_lands_every_answer_on_its_order(
    live_server, settings
):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    product = ProductFactory()
    variant = VariantFactory(product=product, stock=5)
    ready = _shopper_ready(live_server.url, variant.pk, product.get_absolute_url())
    locations = _checkouts_at_once(live_server.url, [ready] * 20)

    order = Order.objects.get()
    assert locations == [(302, order.get_absolute_url())] * 20
