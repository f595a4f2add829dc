import pytest
from django.urls import reverse

from accounts import selectors, services
from accounts.models import Address, User
from tests.factories import OrderFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db

HOME = {
    "label": "Home",
    "full_name": "Ada Lovelace",
    "phone": "0123",
    "address_line1": "1 Analytical Way",
    "address_line2": "",
    "city": "London",
    "postcode": "N1 1AA",
    "country": "GB",
}


def test_the_first_address_becomes_the_default_and_only_one_is():
    user = UserFactory()
    first = services.address_save(user=user, data=HOME, is_default=False)
    second = services.address_save(
        user=user, data={**HOME, "city": "Leeds"}, is_default=True
    )
    first.refresh_from_db()
    assert second.is_default and not first.is_default
    assert selectors.address_default(user=user)["city"] == "Leeds"
    services.address_delete(address=second)
    assert Address.objects.get(pk=first.pk).is_default


def test_address_default_has_the_checkout_keys():
    user = UserFactory()
    assert selectors.address_default(user=user) == {}
    services.address_save(user=user, data=HOME, is_default=True)
    assert set(selectors.address_default(user=user)) == {
        "full_name",
        "phone",
        "address_line1",
        "address_line2",
        "city",
        "postcode",
        "country",
    }


def test_checkout_is_prefilled_from_the_default_address(client):
    user = UserFactory()
    services.address_save(user=user, data=HOME, is_default=True)
    client.force_login(user)
    variant = VariantFactory(stock=3)
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})
    response = client.get(reverse("shop:checkout"))
    assert response.context["form"].initial["address_line1"] == "1 Analytical Way"


def test_addresses_page_saves_edits_and_removes(client):
    user = UserFactory()
    client.force_login(user)
    url = reverse("accounts:addresses")
    assert client.post(url, {**HOME, "make_default": "on"}).status_code == 302
    address = Address.objects.get(user=user)
    edit = reverse("accounts:address_edit", args=[address.pk])
    client.post(edit, {**HOME, "city": "York", "make_default": "on"})
    address.refresh_from_db()
    assert address.city == "York"
    other = UserFactory()
    client.force_login(other)
    assert client.get(edit).status_code == 404
    client.force_login(user)
    client.post(reverse("accounts:address_delete", args=[address.pk]))
    assert not Address.objects.filter(user=user).exists()


def test_an_unverified_email_never_takes_over_an_existing_user():
    UserFactory(email="ada@example.com", cognito_sub="old")
    with pytest.raises(services.AccountLinkError):
        services.user_sync(
            claims={"sub": "new", "email": "ada@example.com", "email_verified": "false"}
        )
    assert User.objects.get(email="ada@example.com").cognito_sub == "old"


def test_guest_orders_are_attached_only_for_a_verified_email():
    order = OrderFactory(email="bob@example.com")
    user = services.user_sync(claims={"sub": "s1", "email": "bob@example.com"})
    order.refresh_from_db()
    assert order.user is None
    services.user_sync(
        claims={"sub": "s1", "email": "bob@example.com", "email_verified": "true"}
    )
    order.refresh_from_db()
    assert order.user == user


def test_pending_password_round_trips_and_rejects_tampering():
    sealed = services.pending_password_seal(password="S3cret!!")
    assert "S3cret" not in sealed
    assert services.pending_password_open(sealed=sealed) == "S3cret!!"
    assert services.pending_password_open(sealed=sealed[:-4] + "AAAA") is None


def test_each_failure_past_the_free_ones_doubles_the_wait(settings, monkeypatch):
    settings.ACCOUNTS_SIGNIN_FREE_FAILURES = 2
    settings.ACCOUNTS_SIGNIN_MAX_DELAY = 8
    clock = [1_800_000_000.0]
    monkeypatch.setattr(services.time, "time", lambda: clock[0])
    waits = []
    for _ in range(7):
        throttle = services.signin_throttle(ip="192.0.2.1", email="ada@example.com")
        waits.append(throttle.retry_after if throttle.blocked else 0)
        clock[0] += throttle.retry_after
        services.signin_failed(ip="192.0.2.1", email="ada@example.com")
    assert waits == [0, 0, 1, 2, 4, 8, 8]
    # Another address is not held back; a success clears this one's count.
    assert not services.signin_throttle(ip="192.0.2.2", email="ada@example.com").blocked
    services.signin_throttle_reset(ip="192.0.2.1", email="ada@example.com")
    assert not services.signin_throttle(ip="192.0.2.1", email="ada@example.com").blocked
