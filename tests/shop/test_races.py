"""Races a real shop sees: double clicks, two tabs, reloads."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from shop import services
from shop.cache import catalogue_version
from shop.models import Cart, CartLine, Order, ProductVariant
from tests.factories import VariantFactory, checkout_details


def details():
    return checkout_details(email="tab@example.com", full_name="Tab Shopper")


def run_together(*targets):
    barrier = threading.Barrier(len(targets))
    outcomes = []

    def run(target):
        barrier.wait()
        try:
            outcomes.append(target())
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tabs_checking_out_one_cart_place_one_order():
    variant = VariantFactory(stock=10)
    cart = Cart.objects.create(session_key="t" * 32)
    services.cart_add(cart=cart, variant=variant, quantity=2)

    outcomes = run_together(
        lambda: services.order_place(
            cart=cart, details=details(), checkout_token="a" * 20
        ),
        lambda: services.order_place(
            cart=cart, details=details(), checkout_token="b" * 20
        ),
    )

    assert Order.objects.count() == 1
    assert ProductVariant.objects.get(pk=variant.pk).stock == 8
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], services.CheckoutError)
    assert "empty" in str(errors[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_double_click_on_add_to_cart_adds_twice_without_error():
    variant = VariantFactory(stock=10)
    cart = Cart.objects.create(session_key="d" * 32)

    outcomes = run_together(
        lambda: services.cart_add(cart=cart, variant=variant, quantity=1),
        lambda: services.cart_add(cart=cart, variant=variant, quantity=1),
    )

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert CartLine.objects.get(cart=cart).quantity == 2


@pytest.mark.django_db
def test_adding_again_moves_the_cart_forward_in_time(variant):
    cart = Cart.objects.create(session_key="u" * 32)
    services.cart_add(cart=cart, variant=variant, quantity=1)
    old = timezone.now() - timedelta(days=3)
    CartLine.objects.filter(cart=cart).update(added_at=old)
    Cart.objects.filter(pk=cart.pk).update(updated_at=old)

    services.cart_add(cart=cart, variant=variant, quantity=1)

    assert Cart.objects.get(pk=cart.pk).updated_at > timezone.now() - timedelta(
        minutes=1
    )


@pytest.mark.django_db
def test_resubmitted_checkout_shows_the_order_already_placed(client, variant):
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})
    form = {
        "email": "again@example.com",
        "full_name": "Al Again",
        "address_line1": "1 High Street",
        "city": "Leeds",
        "postcode": "LS1 4AP",
        "country": "GB",
        "shipping_method": "standard",
        "payment_method": "cod",
        "checkout_token": "resubmit-" + "x" * 20,
    }
    first = client.post(reverse("shop:checkout"), form)
    again = client.post(reverse("shop:checkout"), form)
    order = Order.objects.get()
    assert first["Location"] == again["Location"] == order.get_absolute_url()
    # Someone else replaying the token learns nothing.
    from django.test import Client

    assert Client().post(reverse("shop:checkout"), form)["Location"] == reverse(
        "shop:cart"
    )


@pytest.mark.django_db
def test_catalogue_is_invalidated_again_when_the_change_commits(
    product, django_capture_on_commit_callbacks
):
    before = catalogue_version()
    with django_capture_on_commit_callbacks(execute=True):
        product.name = "Changed"
        product.save()
    assert catalogue_version() == before + 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/search/?q=%00", "/search/?q=a%00b", "/orders/%00/", "/orders/" + "9" * 40 + "/"],
)
def test_nul_bytes_and_long_order_numbers_never_500(client, url):
    assert client.get(url).status_code in {200, 404}
