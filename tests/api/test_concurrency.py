"""The oversell guarantee holds through the API: the last units sell once."""

import threading
import uuid

import pytest
import requests

from shop.models import Order, ProductVariant
from tests.api.conftest import CHECKOUT
from tests.factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_api_checkouts_of_the_last_units_make_one_order_per_unit(
    live_server,
):
    variant = VariantFactory(product=ProductFactory(), stock=5)
    api = live_server.url + "/api/v1"
    tokens = []
    for _ in range(16):
        cart = requests.post(
            api + "/cart/lines", json={"variant_id": variant.pk}, timeout=10
        ).json()
        tokens.append(cart["token"])
    barrier = threading.Barrier(len(tokens))
    statuses = []

    def buy(token):
        barrier.wait()
        response = requests.post(
            api + "/checkout",
            json=CHECKOUT,
            headers={"X-Cart-Token": token, "Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=buy, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] * 5 + [409] * 11
    assert Order.objects.count() == 5
    assert ProductVariant.objects.get(pk=variant.pk).stock == 0
