"""
Whole-page caching of catalogue pages: the catalogue pages' one cache layer.

A catalogue page looks the same to every visitor except for what is
personal: the CSRF token in its forms and the header's account links and
cart count. Such pages are rendered once per catalogue version (and, for a
product, per stock counter) with markers where those go, and each response
gets the visitor's own swapped in. The protection is unchanged while the
page is not rendered again, for anonymous visitors and shoppers alike.

A visitor with a message waiting (after a redirect) gets a freshly
rendered page, so the message shows where it belongs.
"""

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

CSRF_PLACEHOLDER = "csrf-token-placeholder-1f9c3a7e5b2d4c68"
HEADER_ACCOUNT_MARKER = mark_safe("<!-- header-account-3b8e0c2a91d4 -->")
# Where the session-backed message storage keeps messages that overflowed
# the cookie (django.contrib.messages.storage.session).
SESSION_MESSAGES_KEY = "_messages"


def page_cacheable(request) -> bool:
    if request.method != "GET" or CookieStorage.cookie_name in request.COOKIES:
        return False
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True
    return not request.session.get(SESSION_MESSAGES_KEY)


def catalogue_page(
    request,
    template: str,
    context: Callable[[], dict],
    *,
    key: str,
    version: int,
    cacheable: bool = True,
) -> HttpResponse:
    """Render `template`, or serve it from the page cache when it may be."""
    if not cacheable or version == 0 or not page_cacheable(request):
        return render(request, template, context())
    # Everything else a shared page depends on: the URL (the consent form
    # returns to it) and the privacy headers and choice the banner reflects.
    variant = "|".join(
        [
            request.get_full_path(),
            request.headers.get("DNT", ""),
            request.headers.get("Sec-GPC", ""),
            request.COOKIES.get("nw_consent", ""),
        ]
    )
    digest = hashlib.blake2b(variant.encode(), digest_size=12).hexdigest()
    full_key = f"page:{version}:{key}:{digest}"
    store = caches["catalogue"]
    body = store.get(full_key)
    if body is None:
        response = render(
            request,
            template,
            {
                **context(),
                "csrf_token": CSRF_PLACEHOLDER,
                "header_account_marker": HEADER_ACCOUNT_MARKER,
            },
        )
        if response.status_code != 200:
            return response
        body = response.content.decode(response.charset)
        store.set(full_key, body, timeout=settings.SHOP_CACHE_SECONDS)
    if CSRF_PLACEHOLDER in body:
        body = body.replace(CSRF_PLACEHOLDER, get_token(request))
    return HttpResponse(
        body.replace(HEADER_ACCOUNT_MARKER, _header_account(request, version), 1)
    )


def _header_account(request, version: int) -> str:
    """The visitor's account links and cart count, for the header."""
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return render_to_string("includes/_header_account.html", request=request)
    # Without a session the visitor is anonymous with an empty cart: the same
    # for all of them, so it is rendered once (saves ~10% of a cached page).
    key = f"page:{version}:header-account:anonymous"
    store = caches["catalogue"]
    account = store.get(key)
    if account is None:
        account = render_to_string("includes/_header_account.html", request=request)
        store.set(key, account, timeout=settings.SHOP_CACHE_SECONDS)
    return account
