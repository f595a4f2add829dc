"""The sign-in flows, end to end against the local Cognito stand-in."""

import socket
import threading

import pytest
from django.urls import reverse

from accounts.models import User
from config.aws import aws_endpoint_is_local
from shop.models import Cart
from tests.accounts.conftest import PASSWORD
from tests.factories import OrderFactory, VariantFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")


def _sign_in(client, email, password=PASSWORD, next_url="", **extra):
    data = {"email": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data, **extra)


def test_sign_up_confirm_then_signed_in(client, cognito):
    response = client.post(
        reverse("accounts:signup"),
        {"email": "New@Example.com", "name": "New Person", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:confirm"))
    page = client.get(response["Location"])
    assert b'value="new@example.com"' in page.content
    # moto accepts any code; real Cognito checks the one it emailed.
    response = client.post(
        reverse("accounts:confirm"), {"email": "new@example.com", "code": "123456"}
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.name == "New Person"
    assert user.cognito_sub
    assert not user.has_usable_password()
    assert client.session["_auth_user_id"] == str(user.pk)
    assert "accounts_pending_secret" not in client.session


def test_sign_up_with_a_weak_password_says_why(client, cognito):
    response = client.post(
        reverse("accounts:signup"),
        {"email": "weak@example.com", "name": "Weak", "password": "short"},
    )
    assert response.status_code == 200
    assert b"too weak" in response.content


# Sign-up with an existing email: tests/accounts/test_enumeration.py.


def test_an_unconfirmed_user_is_sent_to_the_confirm_page(client, cognito):
    client.post(
        reverse("accounts:signup"),
        {"email": "later@example.com", "name": "Later", "password": PASSWORD},
    )
    client.session.flush()
    response = _sign_in(client, "later@example.com")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:confirm"))


def test_resend_answers_the_same_for_known_and_unknown_emails(client, cognito):
    client.post(
        reverse("accounts:signup"),
        {"email": "later@example.com", "name": "Later", "password": PASSWORD},
    )
    client.get(reverse("accounts:confirm"))  # shows (and so clears) the messages
    # moto has no ResendConfirmationCode (it answers 500, which reads as
    # "temporarily unavailable"); either way both emails must read the same.
    url = reverse("accounts:resend")
    known = client.post(url, {"email": "later@example.com"}, follow=True)
    unknown = client.post(url, {"email": "nobody@example.com"}, follow=True)
    assert known.status_code == unknown.status_code == 200
    known_messages = [str(m) for m in known.context["messages"]]
    unknown_messages = [str(m) for m in unknown.context["messages"]]
    assert known_messages == unknown_messages
    assert known_messages


def test_sign_in_lands_on_a_safe_next_and_cycles_the_session(client, make_cognito_user):
    email = make_cognito_user()
    client.get(LOGIN)
    client.session.save()
    before = client.session.session_key
    response = _sign_in(client, email, next_url="/cart/")
    assert response.status_code == 302
    assert response["Location"] == "/cart/"
    assert client.session.session_key != before
    # Tokens stay in the server-side session, never in a cookie.
    tokens = client.session["cognito_tokens"]
    assert set(tokens) == {"access", "refresh", "expires_at"}
    for cookie in client.cookies.values():
        assert tokens["access"] not in cookie.value
        assert tokens["refresh"] not in cookie.value
        assert "eyJ0eXAi" not in cookie.value  # no JWT (a header, base64)


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example.com/", "//evil.example.com/", "javascript:alert(1)"],
)
def test_sign_in_ignores_an_offsite_next(client, make_cognito_user, next_url):
    response = _sign_in(client, make_cognito_user(), next_url=next_url)
    assert response["Location"] == reverse("shop:home")


def test_unknown_email_and_wrong_password_look_the_same(client, make_cognito_user):
    email = make_cognito_user()
    wrong = _sign_in(client, email, password="Wr0ng-password!")
    unknown = _sign_in(client, "ghost@example.com")
    assert wrong.status_code == unknown.status_code == 200
    assert b"Incorrect email or password." in wrong.content
    assert b"Incorrect email or password." in unknown.content
    assert (
        wrong.context["form"].non_field_errors()
        == unknown.context["form"].non_field_errors()
    )


def test_the_client_secret_is_sent_as_secret_hash(client, cognito_secret, settings):
    from accounts.cognito import cognito_config

    assert cognito_config().client_secret
    password = cognito_secret.passwords["shopper@example.com"]
    response = _sign_in(client, "shopper@example.com", password=password)
    assert response.status_code == 302
    assert User.objects.filter(email="shopper@example.com").exists()


def test_groups_promote_and_demote(client, make_cognito_user, cognito_admin, cognito):
    email = make_cognito_user(groups=["staff", "admin"])
    _sign_in(client, email)
    user = User.objects.get(email=email)
    assert user.is_staff and user.is_superuser
    cognito_admin.admin_remove_user_from_group(
        UserPoolId=cognito.user_pool_id, Username=email, GroupName="admin"
    )
    cognito_admin.admin_remove_user_from_group(
        UserPoolId=cognito.user_pool_id, Username=email, GroupName="staff"
    )
    cognito_admin.create_group(UserPoolId=cognito.user_pool_id, GroupName="buyers")
    cognito_admin.admin_add_user_to_group(
        UserPoolId=cognito.user_pool_id, Username=email, GroupName="buyers"
    )
    client.post(reverse("accounts:logout"))
    _sign_in(client, email)
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["buyers"]


def test_a_token_refresh_demotes_a_removed_staff_member(
    client, make_cognito_user, cognito_admin, cognito
):
    email = make_cognito_user(groups=["staff"])
    _sign_in(client, email)
    assert User.objects.get(email=email).is_staff
    cognito_admin.admin_remove_user_from_group(
        UserPoolId=cognito.user_pool_id, Username=email, GroupName="staff"
    )
    session = client.session
    session["cognito_tokens"] = {**session["cognito_tokens"], "expires_at": 0}
    session.save()
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 200
    assert not User.objects.get(email=email).is_staff
    assert client.session["cognito_tokens"]["expires_at"] > 0


def test_a_new_sub_relinks_the_user_by_verified_email(client, make_cognito_user):
    existing = User.objects.create_user(email="ada@example.com", cognito_sub="old-sub")
    _sign_in(client, make_cognito_user(email="ada@example.com"))
    existing.refresh_from_db()
    assert existing.cognito_sub not in {"old-sub", None}
    assert User.objects.count() == 1


def test_sign_in_merges_the_cart_and_attaches_guest_orders(client, make_cognito_user):
    email = make_cognito_user()
    variant = VariantFactory(stock=5)
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 2})
    guest_order = OrderFactory(email=email)
    other_order = OrderFactory(email="someone@example.com")
    _sign_in(client, email)
    user = User.objects.get(email=email)
    cart = Cart.objects.get(user=user)
    assert [(line.variant_id, line.quantity) for line in cart.lines.all()] == [
        (variant.pk, 2)
    ]
    assert not Cart.objects.filter(user__isnull=True).exists()
    guest_order.refresh_from_db()
    other_order.refresh_from_db()
    assert guest_order.user == user
    assert other_order.user is None
    page = client.get(reverse("shop:order_history"))
    assert guest_order.number.encode() in page.content


def test_forgot_and_reset_password(client, make_cognito_user):
    email = make_cognito_user()
    response = client.post(reverse("accounts:forgot_password"), {"email": email})
    assert response["Location"] == reverse("accounts:reset_password")
    response = client.post(
        reverse("accounts:reset_password"),
        {"email": email, "code": "123456", "password": "N3w-Password!"},
    )
    assert response["Location"] == LOGIN
    assert _sign_in(client, email, password="N3w-Password!").status_code == 302


def test_forgot_password_for_an_unknown_email_looks_the_same(client, cognito):
    response = client.post(
        reverse("accounts:forgot_password"), {"email": "ghost@example.com"}
    )
    assert response["Location"] == reverse("accounts:reset_password")


def test_change_password(client, make_cognito_user):
    email = make_cognito_user()
    _sign_in(client, email)
    url = reverse("accounts:change_password")
    wrong = client.post(
        url, {"old_password": "nope-Nope1!", "new_password": "N3w-Pass!!"}
    )
    assert b"current password is not right" in wrong.content
    right = client.post(url, {"old_password": PASSWORD, "new_password": "N3w-Pass!!"})
    assert right.status_code == 302
    client.post(reverse("accounts:logout"))
    assert _sign_in(client, email, password="N3w-Pass!!").status_code == 302


def test_sign_out_is_post_only_and_best_effort(client, make_cognito_user):
    email = make_cognito_user()
    _sign_in(client, email)
    assert client.get(reverse("accounts:logout")).status_code == 405
    # moto answers the unsigned GlobalSignOut from its us-east-1 backend, so
    # against a pool in eu-west-2 it refuses the token: exactly the failure
    # that must not block signing out.
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert "cognito_tokens" not in client.session
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_a_routine_sign_out_logs_nothing_alarming(client, make_cognito_user, caplog):
    _sign_in(client, make_cognito_user())

    with caplog.at_level("INFO"):
        client.post(reverse("accounts:logout"))

    assert [r for r in caplog.records if "GlobalSignOut" in r.getMessage()] == []


def test_forms_require_csrf(make_cognito_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(LOGIN, {"email": make_cognito_user(), "password": PASSWORD})
    assert response.status_code == 403


def test_a_strangers_wrong_passwords_never_lock_the_owner_out(
    client, make_cognito_user
):
    email = make_cognito_user()
    stranger = {"REMOTE_ADDR": "203.0.113.66"}
    for _ in range(6):
        _sign_in(client, email, password="Wr0ng-pass!", **stranger)
    # The stranger waits; the owner, from their own address, signs in.
    response = _sign_in(client, email, **stranger)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"try again in about" in response.content
    assert _sign_in(client, email).status_code == 302


def test_sign_in_has_a_ceiling_per_account_from_any_address(
    client, make_cognito_user, settings
):
    settings.ACCOUNTS_SIGNIN_ACCOUNT_LIMIT = 3
    email = make_cognito_user()
    for n in range(3):
        _sign_in(client, email, password="Wr0ng-pass!", REMOTE_ADDR=f"198.51.100.{n}")
    assert _sign_in(client, email, REMOTE_ADDR="198.51.100.9").status_code == 429


def test_sign_in_is_rate_limited_per_ip(client, cognito, settings):
    settings.ACCOUNTS_SIGNIN_IP_LIMIT = 2
    for n in range(2):
        _sign_in(client, f"person{n}@example.com")
    assert _sign_in(client, "person9@example.com").status_code == 429


def test_cognito_down_shows_temporarily_unavailable(client, cognito, settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.COGNITO_USER_POOL_ID = cognito.user_pool_id
    settings.COGNITO_CLIENT_ID = cognito.client_id
    response = _sign_in(client, "shopper@example.com")
    assert response.status_code == 503
    assert b"temporarily unavailable" in response.content
    assert client.get(reverse("shop:cart")).status_code == 200


def test_cognito_slow_times_out_quickly(client, cognito, settings):
    import time

    # A socket that accepts connections and never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    thread = threading.Thread(
        target=lambda: accepted.append(listener.accept()), daemon=True
    )
    thread.start()
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings.COGNITO_USER_POOL_ID = cognito.user_pool_id
    settings.COGNITO_CLIENT_ID = cognito.client_id
    settings.COGNITO_TIMEOUT = 0.5
    started = time.monotonic()
    response = _sign_in(client, "shopper@example.com")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    listener.close()


def test_account_pages_need_sign_in(client, db):
    for name in ["accounts:profile", "accounts:addresses", "shop:order_history"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)


def test_bearer_token_reaches_json_endpoints(client, make_cognito_user):
    from accounts.services import account_authenticate

    email = make_cognito_user(groups=["staff"])
    _sign_in(client, email)
    client.post(reverse("accounts:logout"))
    tokens = account_authenticate(email=email, password=PASSWORD)
    url = reverse("accounts:api_me")
    ok = client.get(url, headers={"Authorization": f"Bearer {tokens.access_token}"})
    assert ok.status_code == 200
    assert ok.json()["email"] == email
    id_as_access = client.get(
        url, headers={"Authorization": f"Bearer {tokens.id_token}"}
    )
    assert id_as_access.status_code == 401
    assert client.get(url).status_code == 401


def test_admin_login_goes_through_cognito(client, make_cognito_user):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=%2Fadmin%2F"
    email = make_cognito_user(groups=["staff"])
    _sign_in(client, email, next_url="/admin/")
    assert client.get("/admin/").status_code == 200


def test_break_glass_superuser_signs_in_with_a_local_password(client, cognito):
    User.objects.create_superuser(email="root@example.com", password="local-Pass-123")
    response = client.post(
        reverse("accounts:local_login") + "?next=/admin/",
        {
            "username": "root@example.com",
            "password": "local-Pass-123",
            "next": "/admin/",
        },
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_sign_in_fails_open_when_the_cache_is_down(
    client, make_cognito_user, settings, caplog
):
    # Redis on a closed port: the rate limit cannot count, so the attempt is
    # allowed (Cognito keeps its own lockout) and logged, never a 500.
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
        "catalogue": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    email = make_cognito_user()
    wrong = _sign_in(client, email, password="Wr0ng-pass!")
    assert wrong.status_code == 200
    assert b"Incorrect email or password" in wrong.content
    response = _sign_in(client, email)
    assert response.status_code == 302
    assert client.session["_auth_user_id"]
    assert "rate limit unavailable" in caplog.text


def test_the_ip_limit_counts_the_visitor_behind_trusted_proxies(
    client, cognito, settings
):
    # Behind CloudFront and an ALB every request comes from the ALB's address;
    # the viewer is the entry the outermost trusted proxy appended.
    settings.TRUSTED_PROXY_COUNT = 2
    settings.ACCOUNTS_SIGNIN_IP_LIMIT = 2
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    for n in range(4):
        response = client.post(
            LOGIN,
            {"email": f"person{n}@example.com", "password": "Wr0ng-pass!"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 130.176.0.1",
            **proxy,
        )
        assert response.status_code == 200
    # One visitor still meets the limit, whatever it puts on the left.
    for n in range(3):
        response = client.post(
            LOGIN,
            {"email": f"again{n}@example.com", "password": "Wr0ng-pass!"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.0, 130.176.0.1",
            **proxy,
        )
    assert response.status_code == 429


def test_local_sign_up_says_on_the_page_and_console_what_code_to_type(
    client, cognito, caplog
):
    with caplog.at_level("INFO", logger="accounts.services"):
        response = client.post(
            reverse("accounts:signup"),
            {"email": "local@example.com", "name": "Local", "password": PASSWORD},
            follow=True,
        )
    assert "local@example.com" in caplog.text
    assert "type any code, for example 123456" in caplog.text
    body = response.content.decode()
    assert "sends no email" in body and "123456" in body
    assert "We have emailed" not in body
    # What the console says is what the stand-in accepts.
    response = client.post(
        reverse("accounts:confirm"), {"email": "local@example.com", "code": "123456"}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_the_code_hint_is_only_for_a_stand_in_on_this_machine(settings):
    for url, local in [
        ("http://127.0.0.1:5005", True),
        ("http://localhost:4566", True),
        ("http://[::1]:5005", True),
        ("https://cognito-idp.eu-west-2.amazonaws.com", False),
        ("", False),
    ]:
        settings.AWS_ENDPOINT_URL = url
        assert aws_endpoint_is_local() is local, url


def test_the_demo_staff_account_changes_an_order_status_in_django_admin(
    client, cognito
):
    email = "staff@example.com"
    order = OrderFactory(status="pending")
    response = _sign_in(client, email, password=cognito.passwords[email])
    assert response.status_code == 302
    changelist = reverse("admin:shop_order_changelist")

    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(changelist).status_code == 200
    response = client.post(
        changelist, {"action": "mark_paid", "_selected_action": [order.pk]}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "paid"
    # Catalogue yes, people no: users stay with the admin group.
    assert client.get(reverse("admin:shop_product_add")).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


def test_the_staff_group_holds_exactly_the_configured_permissions(
    client, make_cognito_user, settings
):
    settings.COGNITO_GROUP_PERMISSIONS = {"staff": ["shop.view_order"]}
    email = make_cognito_user(email="clerk@example.com", groups=["staff"])
    _sign_in(client, email)
    user = User.objects.get(email=email)
    assert user.get_all_permissions() == {"shop.view_order"}

    settings.COGNITO_GROUP_PERMISSIONS = {"staff": ["shop.change_order"]}
    client.post(reverse("accounts:logout"))
    _sign_in(client, email)
    user = User.objects.get(email=email)
    assert user.get_all_permissions() == {"shop.change_order"}
