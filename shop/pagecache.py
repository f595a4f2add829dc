"""
Whole-page caching of catalogue pages for anonymous visitors.

A visitor with no session cookie sees exactly what every other such visitor
sees, except for the CSRF token in its forms. Such pages are rendered once
per catalogue version with a placeholder where the token goes, and each
response gets the visitor's own token swapped in, so the protection is
unchanged while the template is not rendered again.

Anyone with a session (a cart, a message, a signed-in user) gets a freshly
rendered page; its fragments are still cached (see shop/cache.py).
"""

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render

CSRF_PLACEHOLDER = "csrf-token-placeholder-1f9c3a7e5b2d4c68"


def page_cacheable(request) -> bool:
    cookies = request.COOKIES
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in cookies
        and CookieStorage.cookie_name not in cookies
    )


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
    if not cacheable or not page_cacheable(request) or version == 0:
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
            request, template, {**context(), "csrf_token": CSRF_PLACEHOLDER}
        )
        if response.status_code != 200:
            return response
        body = response.content.decode(response.charset)
        store.set(full_key, body, timeout=settings.SHOP_CACHE_SECONDS)
    if CSRF_PLACEHOLDER in body:
        body = body.replace(CSRF_PLACEHOLDER, get_token(request))
    return HttpResponse(body)
