"""The account pages as a shopper sees them: tabs, forms, order history."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import OrderFactory, OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_order_history_counts_units_and_shows_money_as_the_shop_does(client):
    user = UserFactory()
    order = OrderFactory(user=user, email=user.email, total=Decimal("33.9"))
    OrderLineFactory(order=order, quantity=2)
    OrderLineFactory(order=order, quantity=3)
    client.force_login(user)

    html = client.get(reverse("shop:order_history")).content.decode()

    card = re.search(r'<li class="order-card">(.*?)</li>', html, re.S).group(1)
    assert re.search(r"<dt>Items</dt><dd>5</dd>", card)
    assert "£33.90" in card
    assert "GBP" not in card


@pytest.mark.parametrize(
    "name", ["accounts:login", "accounts:signup", "accounts:forgot_password"]
)
def test_account_forms_label_fields_without_a_colon(client, name):
    html = client.get(reverse(name)).content.decode()

    labels = re.findall(r"<label[^>]*>([^<]*)</label>", html)
    assert "Email" in labels
    assert not [label for label in labels if label.rstrip().endswith(":")]


def test_account_pages_mark_the_current_tab(client):
    client.force_login(UserFactory())

    html = client.get(reverse("shop:order_history")).content.decode()

    tabs = re.findall(r'<a class="tab" href="([^"]+)"([^>]*)>', html)
    assert len(tabs) == 4
    assert [href for href, rest in tabs if "aria-current" in rest] == [
        reverse("shop:order_history")
    ]
