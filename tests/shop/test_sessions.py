"""A new visitor's first add to the cart makes their session and cart."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse

from shop.models import Cart
from shop.services import CART_SESSION_KEY
from tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def _add(client, variant, quantity=1):
    return client.post(
        reverse("shop:cart_add"), {"variant": variant.pk, "quantity": quantity}
    )


def test_a_first_add_makes_the_session_and_the_cart_that_names_it(client):
    variant = VariantFactory(stock=5)
    assert _add(client, variant, 2).status_code == 302

    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    cart = Cart.objects.get(session_key=key)
    assert [(line.variant_id, line.quantity) for line in cart.lines.all()] == [
        (variant.pk, 2)
    ]
    assert Session.objects.get(session_key=key).get_decoded() == {
        CART_SESSION_KEY: cart.pk
    }


def test_a_refused_first_add_writes_no_session_and_no_cart(client):
    variant = VariantFactory(stock=0)
    response = _add(client, variant)

    assert response.status_code == 302
    assert response["Location"] == variant.product.get_absolute_url()
    assert settings.SESSION_COOKIE_NAME not in client.cookies
    assert not Cart.objects.exists()
    assert not Session.objects.exists()


def test_a_visitor_whose_session_lapsed_gets_a_new_one_with_the_cart(client):
    variant = VariantFactory(stock=5)
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32  # no such session
    assert _add(client, variant).status_code == 302

    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert key != "a" * 32
    assert Cart.objects.get(session_key=key).lines.get().variant_id == variant.pk


def test_an_add_after_the_sessions_cart_was_cleared_away_makes_a_new_one(client):
    variant = VariantFactory(stock=5)
    _add(client, variant)
    Cart.objects.all().delete()

    assert _add(client, variant, 3).status_code == 302

    cart = Cart.objects.get()
    assert cart.lines.get().quantity == 3
    assert client.session[CART_SESSION_KEY] == cart.pk
