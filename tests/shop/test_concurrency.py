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


def test_last_units_are_sold_once_under_concurrency(live_server, settings):
    # The live server speaks plain HTTP, so cookies must not be Secure-only.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    product = ProductFactory()
    variant = VariantFactory(product=product, stock=5)
    shoppers = [
        _shopper_ready(live_server.url, variant.pk, product.get_absolute_url())
        for _ in range(20)
    ]
    barrier = threading.Barrier(len(shoppers))
    statuses, locations = [], []

    def buy(session, csrf, checkout_token):
        barrier.wait()
        response = session.post(
            live_server.url + "/checkout/",
            data={
                **CHECKOUT,
                "csrfmiddlewaretoken": csrf,
                "checkout_token": checkout_token,
            },
            allow_redirects=False,
            timeout=30,
        )
        statuses.append(response.status_code)
        locations.append(response.headers.get("Location", ""))

    threads = [threading.Thread(target=buy, args=shopper) for shopper in shoppers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

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
    session, csrf, checkout_token = _shopper_ready(
        live_server.url, variant.pk, product.get_absolute_url()
    )
    barrier = threading.Barrier(20)
    locations = []

    def submit():
        barrier.wait()
        response = session.post(
            live_server.url + "/checkout/",
            data={
                **CHECKOUT,
                "csrfmiddlewaretoken": csrf,
                "checkout_token": checkout_token,
            },
            allow_redirects=False,
            timeout=30,
        )
        locations.append((response.status_code, response.headers.get("Location", "")))

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    order = Order.objects.get()
    assert locations == [(302, order.get_absolute_url())] * 20
