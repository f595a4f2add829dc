"""Whole-page caching: one body for every visitor, never sharing what is personal."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from shop.header import HEADER_COOKIE, HeaderState, header_cookie_read
from shop.pagecache import CSRF_PLACEHOLDER
from tests.factories import checkout_details

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def test_each_visitor_gets_their_own_csrf_token_in_a_cached_page(product):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    one = first.get(product.get_absolute_url()).content.decode()
    two = second.get(product.get_absolute_url()).content.decode()

    assert CSRF_PLACEHOLDER not in one + two
    assert TOKEN.search(one).group(1) != TOKEN.search(two).group(1)
    # The swapped-in token is a working one.
    variant = product.variants.first()
    response = second.post(
        reverse("shop:cart_add"),
        {
            "variant": variant.pk,
            "quantity": 1,
            "csrfmiddlewaretoken": TOKEN.search(two).group(1),
        },
    )
    assert response.status_code == 302


def test_an_order_updates_the_stock_on_a_cached_product_page(
    client, product, django_capture_on_commit_callbacks
):
    from shop import services
    from shop.models import Cart

    variant = product.variants.first()  # 10 in stock
    assert "Only" not in Client().get(product.get_absolute_url()).content.decode()
    cart = Cart.objects.create(session_key="s" * 32)
    services.cart_add(cart=cart, variant=variant, quantity=8)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_place(
            cart=cart,
            details=checkout_details(),
            checkout_token="stock-" + "x" * 20,
        )
    page = Client().get(product.get_absolute_url()).content.decode()
    assert "Only 2 left" in page


def _header(client) -> HeaderState | None:
    cookie = client.cookies.get(HEADER_COOKIE)
    return header_cookie_read(cookie.value) if cookie else None


def test_adding_to_the_cart_writes_the_header_cookie(client, product):
    Client().get(product.category.get_absolute_url())  # warm the shared page
    variant = product.variants.first()
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 3})
    assert _header(client) == HeaderState(count=3)
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})
    assert _header(client) == HeaderState(count=4)

    client.get(product.category.get_absolute_url())  # shows "Added ..."
    page = client.get(product.category.get_absolute_url()).content.decode()
    # The shared page: the anonymous header, for the script to fill in.
    assert "data-header-shared" in page and 'data-count="0"' in page


def test_signing_in_and_out_writes_and_clears_the_header_cookie(client, product):
    from accounts.models import User

    staff = User.objects.create_user(
        email="dee@example.com", name="Dee Park", is_staff=True
    )
    client.force_login(staff)
    client.get(reverse("shop:cart"))  # a session, and no header cookie yet
    assert _header(client) == HeaderState(count=0, name="Dee", staff=True)
    client.post(reverse("accounts:logout"))
    assert not client.cookies[HEADER_COOKIE].value  # deleted


def test_no_personal_data_reaches_the_shared_cache(product):
    """
    One shopper's name, cart count or CSRF token never appears in another's
    page, nor in the cache that every visitor's page comes from.
    """
    from accounts.models import User
    from shop.pagecache import pages

    ann = Client()
    ann.force_login(User.objects.create_user(email="ann@example.com", name="Annika Lee"))
    variant = product.variants.first()
    ann.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 7})
    ann.get(reverse("shop:cart"))  # where "Added ..." shows
    bob = Client()
    bob.force_login(
        User.objects.create_user(email="bob@example.com", name="Bobby Ray", is_staff=True)
    )
    urls = [
        reverse("shop:home"),
        product.category.get_absolute_url(),
        product.get_absolute_url(),
        reverse("shop:search") + "?q=product",
    ]
    for url in urls:
        one = ann.get(url).content.decode()
        two = bob.get(url).content.decode()
        three = Client().get(url).content.decode()
        ann_token, bob_token = TOKEN.search(one).group(1), TOKEN.search(two).group(1)
        for page in (one, two, three):
            assert "Annika" not in page and "Bobby" not in page
            assert 'data-count="7"' not in page
        assert bob_token not in one and ann_token not in two
        # One body for all: the pages differ only in their CSRF tokens.
        assert TOKEN.sub("", one) == TOKEN.sub("", two) == TOKEN.sub("", three)

    assert _header(ann) == HeaderState(count=7, name="Annika")
    assert _header(bob) == HeaderState(count=0, name="Bobby", staff=True)
    cached = "".join(
        entry.value.plain(CSRF_PLACEHOLDER).decode() for _, entry in pages._pages.values()
    )
    assert cached and CSRF_PLACEHOLDER in cached
    for secret in ("Annika", "Bobby", ann_token, bob_token, 'data-count="7"'):
        assert secret not in cached


def test_a_shopper_is_served_the_cached_page_without_reading_the_session(
    product, django_assert_num_queries
):
    from accounts.models import User

    Client().get(product.get_absolute_url())  # the shared page, cached
    shopper = Client()
    shopper.force_login(User.objects.create_user(email="cy@example.com", name="Cy"))
    shopper.post(
        reverse("shop:cart_add"), {"variant": product.variants.first().pk, "quantity": 1}
    )
    shopper.get(reverse("shop:cart"))  # where "Added ..." shows
    # No session, user, cart or catalogue query: the header comes from its
    # cookie.
    with django_assert_num_queries(0):
        page = shopper.get(product.get_absolute_url())
    assert product.name in page.content.decode()
    assert not page.wsgi_request.session.accessed  # not even from the cache
    assert "_cached_user" not in page.wsgi_request.__dict__


def test_a_waiting_message_shows_on_the_next_catalogue_page(client, product):
    client.get(product.get_absolute_url())  # the shared page, cached
    variant = product.variants.first()
    client.post(reverse("shop:cart_add"), {"variant": variant.pk, "quantity": 1})
    page = client.get(product.category.get_absolute_url()).content.decode()
    assert f"Added {variant} to your cart." in page


def test_pages_are_keyed_on_the_parameters_they_read(product):
    from shop.pagecache import pages

    category = product.category.get_absolute_url()
    Client().get(category)
    size = pages.size
    for n in range(20):  # campaign tags and junk share the page
        page = Client().get(f"{category}?utm_source=mail{n}&x={n}").content.decode()
        assert f"mail{n}" not in page  # another visitor's query never shows
    assert pages.size == size
    Client().get(f"{category}?sort=price&page=1")  # a parameter it reads
    assert pages.size > size


def test_the_page_cache_is_bounded_by_bytes(settings, product):
    from shop.pagecache import pages

    settings.SHOP_PAGE_CACHE_BYTES = 200_000
    for n in range(40):
        Client().get(f"/search/?q=product+{n}")
    assert 0 < pages.size <= 200_000


def test_a_gzipped_cached_page_is_the_plain_page_with_its_own_token(product):
    """
    The cached page's gzip stream is assembled from parts compressed once:
    it must decode (zlib, as every browser's inflate) to exactly the plain
    page, with a working token of the visitor's own.
    """
    import gzip
    import zlib

    url = product.get_absolute_url()
    Client().get(url)  # the shared page, cached
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    packed = browser.get(url)
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    html = gzip.decompress(packed.content).decode()
    inflater = zlib.decompressobj(wbits=31)  # one gzip member, nothing left over
    assert inflater.decompress(packed.content).decode() == html
    assert inflater.eof and not inflater.unused_data
    # About as small as compressing the whole page (the random name, and
    # the tokens stored as they are, cost a few hundred bytes at most).
    assert len(packed.content) < len(gzip.compress(html.encode())) + 400

    token = TOKEN.search(html).group(1)
    plain = Client().get(url).content.decode()
    assert TOKEN.sub("", html) == TOKEN.sub("", plain)
    assert token != TOKEN.search(plain).group(1)
    assert html.count(token) == len(TOKEN.findall(html)) >= 2  # every form
    added = browser.post(
        reverse("shop:cart_add"),
        {"variant": product.variants.first().pk, "quantity": 1, "csrfmiddlewaretoken": token},
    )
    assert added.status_code == 302
    # Response lengths vary (BREACH), as with GZipMiddleware.
    sizes = {len(browser.get(url).content) for _ in range(8)}
    assert len(sizes) > 1


def test_a_client_that_does_not_accept_gzip_gets_the_page_plain(product):
    url = product.get_absolute_url()
    Client().get(url)
    page = Client(HTTP_ACCEPT_ENCODING="identity").get(url)
    assert not page.has_header("Content-Encoding")
    assert "Accept-Encoding" in page["Vary"]
    assert product.name in page.content.decode()


def test_a_signed_in_shoppers_session_costs_no_query_until_a_page_reads_the_user(
    product, django_assert_num_queries
):
    import time

    from accounts.middleware import SESSION_SIGNED_IN_AT, SESSION_TOKENS
    from accounts.models import User

    shopper = Client()
    user = User.objects.create_user(email="di@example.com", name="Di", cognito_sub="sub-di")
    shopper.force_login(user)
    session = shopper.session
    session[SESSION_TOKENS] = {"access": "a", "refresh": "r", "expires_at": time.time() + 3600}
    session[SESSION_SIGNED_IN_AT] = time.time()
    session.save()
    shopper.post(
        reverse("shop:cart_add"), {"variant": product.variants.first().pk, "quantity": 2}
    )
    shopper.get(reverse("shop:cart"))  # where "Added ..." shows
    Client().get(product.get_absolute_url())  # the shared page, cached

    with django_assert_num_queries(0):
        page = shopper.get(product.get_absolute_url())
    assert not page.wsgi_request.session.accessed
    assert _header(shopper) == HeaderState(count=2, name="Di")

    # A page rendered for the shopper: the user, the cart and its lines,
    # which also give the header's count (the session and the revocation
    # mark come from the cache).
    with django_assert_num_queries(3):
        cart = shopper.get(reverse("shop:cart"))
    assert cart.context["header"].count == 2
    assert 'data-count="2"' in cart.content.decode()


def test_the_form_token_of_a_cached_page_is_the_visitors_secret_freshly_masked(product):
    from django.middleware.csrf import _unmask_cipher_token

    url = product.get_absolute_url()
    Client().get(url)  # the shared page, cached
    visitor = Client(enforce_csrf_checks=True)
    first = visitor.get(url)
    secret = visitor.cookies["csrftoken"].value
    tokens = {TOKEN.search(visitor.get(url).content.decode()).group(1) for _ in range(5)}
    tokens.add(TOKEN.search(first.content.decode()).group(1))
    assert len(tokens) == 6  # a new mask each time
    assert {_unmask_cipher_token(token) for token in tokens} == {secret}
    assert visitor.cookies["csrftoken"].value == secret  # the cookie stays
    for token in tokens:
        response = visitor.post(
            reverse("shop:cart_add"),
            {"variant": product.variants.first().pk, "quantity": 1, "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302


def test_a_page_rendered_for_the_visitor_corrects_a_stale_header_cookie(client, product):
    from shop.header import header_cookie_value

    client.post(
        reverse("shop:cart_add"), {"variant": product.variants.first().pk, "quantity": 1}
    )
    assert _header(client) == HeaderState(count=1)
    client.get(reverse("shop:cart"))  # where "Added ..." shows
    # As if the cookie had outlived what it describes (a lapsed session).
    client.cookies[HEADER_COOKIE] = header_cookie_value(HeaderState(count=9, name="Zed"))
    client.get(product.get_absolute_url())  # a shared page: no work, no change
    assert _header(client) == HeaderState(count=9, name="Zed")
    client.get(reverse("shop:cart"))
    assert _header(client) == HeaderState(count=1)
