"""
The header's personal parts: the cart count, the signed-in name and the
staff link.

A catalogue page is one cached body for every visitor (shop/pagecache.py),
rendered with the header of an anonymous visitor with an empty cart. The
visitor's own parts travel in a small signed cookie, written whenever they
change, and the shop's header script (static/js/header.js) puts them in
place before the page is first painted. Pages rendered per visitor (the
cart, checkout, accounts) render the same parts on the server.

The cookie is readable by the page's script (not HttpOnly) and holds what
the header shows the visitor, nothing more; it is signed so that the server
can tell its own values from anything else.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from accounts.middleware import SAFE_METHODS

from .selectors import cart_count
from .sessions import cart_count_noted

HEADER_COOKIE = "nw_header"
_SALT = "shop.header"


@dataclass(frozen=True, slots=True)
class HeaderState:
    count: int = 0
    name: str = ""  # empty: not signed in
    staff: bool = False


# What a shared page's header shows until the header script has run.
ANONYMOUS = HeaderState()


def header_state(request) -> HeaderState:
    """
    The header's parts for the visitor of `request`: one cart query, none
    after a cart write that noted the new count.
    """
    user = request.user
    count = cart_count_noted(request)
    if count is None:
        count = cart_count(user=user, session_key=request.session.session_key)
    if not user.is_authenticated:
        state = HeaderState(count=count)
    else:
        state = HeaderState(
            count=count, name=user.get_short_name() or "Account", staff=user.is_staff
        )
    # The middleware sets the cookie from it if it differs (a page rendered
    # for the visitor corrects a cookie gone stale, say a lapsed session's).
    request.header_state_known = state
    return state


def header_cookie_value(state: HeaderState) -> str:
    payload = {"n": state.count, "u": state.name, "s": int(state.staff)}
    return signing.Signer(salt=_SALT).sign_object(payload)


def header_cookie_read(value: str) -> HeaderState | None:
    """The state a cookie value holds; None unless this shop signed it."""
    try:
        payload = signing.Signer(salt=_SALT).unsign_object(value)
        return HeaderState(
            count=int(payload["n"]), name=str(payload["u"]), staff=bool(payload["s"])
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


class HeaderStateMiddleware:
    """
    Keep the header cookie in step with the visitor.

    The parts change only on a write (adding to the cart, checking out,
    signing in or out, a group sync): a request that changed the session,
    or a form post to a view that takes them. A page rendered for the
    visitor (the cart, checkout, accounts) has just worked them out, so it
    corrects a cookie gone stale (a session that lapsed, say), and a
    visitor with a session and no header cookie gets one. Every other
    request, including every cached catalogue page, passes with no work at
    all. Beacons and webhooks (views exempt from CSRF, which a browser's
    forms never post to) are left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self._due(request):
            self._write(request, response)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.header_state_watch = not getattr(view_func, "csrf_exempt", False)

    @staticmethod
    def _due(request) -> bool:
        session = getattr(request, "session", None)
        if session is None:
            return False
        if getattr(request, "header_state_known", None) or session.modified:
            return True
        if request.method not in SAFE_METHODS:
            return getattr(request, "header_state_watch", False)
        return (
            settings.SESSION_COOKIE_NAME in request.COOKIES
            and HEADER_COOKIE not in request.COOKIES
            and getattr(request, "header_state_watch", False)
        )

    @staticmethod
    def _write(request, response) -> None:
        state = getattr(request, "header_state_known", None) or header_state(request)
        sent = request.COOKIES.get(HEADER_COOKIE)
        if request.session.session_key is None:
            # No session (never made, or flushed at sign-out): the page's
            # own header is already right.
            if sent is not None:
                response.delete_cookie(
                    HEADER_COOKIE, samesite=settings.SESSION_COOKIE_SAMESITE
                )
            return
        value = header_cookie_value(state)
        if value != sent:
            response.set_cookie(
                HEADER_COOKIE,
                value,
                # Lives as long as the session it describes.
                max_age=None
                if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
                else settings.SESSION_COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite=settings.SESSION_COOKIE_SAMESITE,
                httponly=False,  # read by the header script
            )
