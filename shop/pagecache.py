"""
Whole-page caching of catalogue pages: the catalogue pages' one cache layer.

A catalogue page looks the same to every visitor except for what is
personal: the CSRF token in its forms and the header's account links and
cart count. Such pages are rendered once per catalogue version (and, for a
product, per stock counter) for anonymous visitors and shoppers alike: the
header as an anonymous visitor's, which the header script turns into the
visitor's own from the header cookie (shop/header.py), and a marker where
the CSRF token goes, swapped for the visitor's own in each response, so
that forms post without JavaScript too. Serving such a page reads neither
the session nor the user.

A visitor with a message waiting (after a redirect) gets a freshly
rendered page, so the message shows where it belongs.

A page is keyed on the query parameters it reads, nothing else: campaign
tags and junk parameters share one entry, rendered as if they were absent
(so no visitor's query ends up in another's page). The pages sit in a
per-process store bounded by SHOP_PAGE_CACHE_BYTES, least recently used
first out.
"""

import copy
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render

from .cache import Cached, cache_lifetime, cached_once
from .header import ANONYMOUS
from .pagebody import PageBody

CSRF_PLACEHOLDER = "csrf-token-placeholder-1f9c3a7e5b2d4c68"


class PageStore:
    """
    Rendered pages (PageBody), bounded by size (bytes of HTML). A page
    is fresh for its `timeout`, then kept `stale` seconds more as an
    expired entry (see shop.cache.cached_once).
    """

    def __init__(self):
        # key: (time.time() past which it is dropped, the page)
        self._pages: OrderedDict[str, tuple[float, Cached]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return self._size

    @property
    def keeps(self) -> bool:
        return settings.SHOP_PAGE_CACHE_BYTES > 0

    def entry(self, key: str) -> Cached | None:
        """The page of `key`, fresh or expired, until it is dropped."""
        with self._lock:
            item = self._pages.get(key)
            if item is None:
                return None
            if item[0] < time.time():
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return item[1]

    def get(self, key: str) -> PageBody | None:
        """The page of `key` while it is fresh."""
        entry = self.entry(key)
        return entry.value if entry is not None and entry.fresh else None

    def set(
        self, key: str, body: PageBody, *, timeout: float, stale: float = 0
    ) -> None:
        limit = settings.SHOP_PAGE_CACHE_BYTES
        if len(body) > limit // 8:  # one page never crowds out the rest
            return
        now = time.time()
        with self._lock:
            if key in self._pages:
                self._drop(key)
            self._pages[key] = (now + timeout + stale, Cached(body, now + timeout))
            self._size += len(body)
            while self._size > limit:
                self._drop(next(iter(self._pages)))

    def _drop(self, key: str) -> None:
        _, entry = self._pages.pop(key)
        self._size -= len(entry.value)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._size = 0


pages = PageStore()


def page_query(request, params: tuple[str, ...]) -> str:
    """The query string of the parameters `params` only, in that order."""
    return urlencode(
        [(name, value) for name in params for value in request.GET.getlist(name)]
    )


def _canonical(request, query: str):
    """`request` as if only `query` had been sent, for rendering a shared page."""
    if query == request.META.get("QUERY_STRING", ""):
        return request
    canonical = copy.copy(request)
    canonical.META = {**request.META, "QUERY_STRING": query}
    canonical.GET = QueryDict(query)
    return canonical


def page_cacheable(request) -> bool:
    # Messages live in their cookie alone (MESSAGE_STORAGE), never in the
    # session: no session read to find out.
    return request.method == "GET" and not request.COOKIES.get(
        CookieStorage.cookie_name
    )


def catalogue_page(
    request,
    template: str,
    context: Callable[[], dict],
    *,
    key: str,
    version: int,
    cacheable: bool = True,
    params: tuple[str, ...] = (),
) -> HttpResponse:
    """
    Render `template`, or serve it from the page cache when it may be.
    `params` are the query parameters the page reads.
    """
    if not cacheable or version == 0 or not page_cacheable(request):
        return render(request, template, context())
    query = page_query(request, params)
    # Everything else a shared page depends on: the URL and the parameters
    # it reads (the consent form and pagination link to them), and the
    # privacy headers and choice the banner reflects.
    variant = "|".join(
        [
            request.path,
            query,
            request.headers.get("DNT", ""),
            request.headers.get("Sec-GPC", ""),
            request.COOKIES.get("nw_consent", ""),
        ]
    )
    digest = hashlib.blake2b(variant.encode(), digest_size=12).hexdigest()
    full_key = f"page:{version}:{key}:{digest}"

    def render_and_store() -> PageBody | HttpResponse:
        response = render(
            _canonical(request, query),
            template,
            {
                **context(),
                "csrf_token": CSRF_PLACEHOLDER,
                "header": ANONYMOUS,
                "header_shared": True,
            },
        )
        if response.status_code != 200:
            return response
        body = PageBody(
            response.content.decode(response.charset), marker=CSRF_PLACEHOLDER
        )
        pages.set(
            full_key,
            body,
            timeout=cache_lifetime(),
            stale=settings.SHOP_CACHE_STALE_SECONDS,
        )
        return body

    # One request renders a missed or expired page at a time (per process).
    body = cached_once(
        full_key, lambda: pages.entry(full_key), render_and_store, keeps=pages.keeps
    )
    if isinstance(body, HttpResponse):
        return body
    return body.response(request, get_token(request) if body.has_token else "")
