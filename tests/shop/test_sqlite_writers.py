"""The embedded SQLite database takes checkouts while the rollup job writes."""

import datetime as dt
import sqlite3
import threading
import time
from dataclasses import asdict

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from adminpanel.pipeline import analytics_rollup_run
from shop.models import Order
from tests.adminpanel.factories import EventFactory
from tests.factories import ProductFactory, VariantFactory, checkout_details

pytestmark = pytest.mark.django_db(transaction=True)

CHECKOUT = asdict(checkout_details(email="buyer@example.com"))


@pytest.fixture
def sqlite_file(tmp_path):
    """
    The test database copied to a file, every connection pointed at it.

    The in-memory test database is shared by all threads through one
    connection, so it never locks; a file is what `make run` writes to.
    """
    if connection.vendor != "sqlite":
        pytest.skip("about the embedded SQLite database")
    connection.ensure_connection()
    memory, name = connection.connection, connection.settings_dict["NAME"]
    path = tmp_path / "db.sqlite3"
    target = sqlite3.connect(path)
    memory.backup(target)
    target.close()
    # Keep the in-memory database alive (closing its last connection drops
    # it) and let this thread reconnect to the file like the others.
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    yield path
    connection.close()
    connection.settings_dict["NAME"] = name
    connection.connection = memory


def test_checkouts_succeed_while_the_rollup_writes(sqlite_file):
    product = ProductFactory()
    variant = VariantFactory(product=product, stock=1000)
    now = timezone.now()
    # Enough clickstream that each rollup run holds the write lock a while.
    EventFactory.create_batch(
        400,
        occurred_at=now - dt.timedelta(minutes=30),
        path=product.get_absolute_url(),
        product_id=product.pk,
    )
    buyers, orders_each = 4, 5
    failures: list[BaseException] = []
    statuses: list[int] = []
    runs: list[float] = []
    shopping = threading.Event()

    def rollups():
        try:
            while shopping.is_set():
                started = time.monotonic()
                analytics_rollup_run(lookback_hours=2)
                runs.append(time.monotonic() - started)
                # The job runs every minute; back to back, its transactions
                # would starve the busy-waiting shoppers, which is no test.
                time.sleep(0.05)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    def buyer(n):
        client = Client()
        try:
            for i in range(orders_each):
                client.get(product.get_absolute_url())
                response = client.post(
                    reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1}
                )
                statuses.append(response.status_code)
                response = client.post(
                    reverse("shop:checkout"),
                    CHECKOUT | {"checkout_token": f"sqlite-{n}-{i}-" + "x" * 20},
                )
                statuses.append(response.status_code)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    shopping.set()
    rollup = threading.Thread(target=rollups)
    rollup.start()
    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shopping.clear()
    rollup.join()

    assert failures == []
    assert all(status < 500 for status in statuses), statuses
    assert Order.objects.count() == buyers * orders_each
