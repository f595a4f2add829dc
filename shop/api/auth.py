"""
Who is calling: a Cognito access token (Bearer), the session cookie of a
same-site browser, or a guest with (or without) a cart token.

Bearer requests skip CSRF: a cross-site page cannot attach the header. Any
unsafe request that carries the session cookie and no Bearer token is
checked for CSRF, as the site's forms are.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer
from ninja.utils import check_csrf

from accounts.auth import bearer_user_linked
from accounts.cognito import CognitoUnavailable
from config.problems import Problem

CART_TOKEN_HEADER = "X-Cart-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Viewer:
    user: object
    via: str  # "bearer", "session" or "guest"
    cart_token: str = ""

    @property
    def signed_in(self) -> bool:
        return self.user.is_authenticated


def _cart_token(request) -> str:
    # Tokens are URL-safe base64 of 32 bytes; anything longer is not ours.
    return request.headers.get(CART_TOKEN_HEADER, "")[:64]


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <Cognito access token>`."""

    openapi_bearerFormat = "JWT"

    def authenticate(self, request, token):
        try:
            user = bearer_user_linked(request)
        except CognitoUnavailable:
            raise Problem("auth-unavailable", headers={"Retry-After": "30"}) from None
        if user is None:
            # A bad token is an error, never a quiet fall back to a guest.
            raise Problem(
                "unauthorized",
                "The access token is not valid or has expired.",
                headers={
                    "WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'
                },
            )
        request.user = user
        return Viewer(user=user, via="bearer", cart_token=_cart_token(request))


class SessionAuth(APIKeyCookie):
    """The site's session cookie; unsafe methods need the CSRF token too."""

    param_name = "sessionid"

    def __init__(self):
        super().__init__(csrf=False)

    def _get_key(self, request):
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if (
            key
            and request.method not in SAFE_METHODS
            and check_csrf(request) is not None
        ):
            raise Problem(
                "csrf-failed",
                "Send the csrftoken cookie's value in X-CSRFToken, "
                "or use a Bearer token.",
            )
        return key

    def authenticate(self, request, key):
        if key and request.user.is_authenticated:
            return Viewer(
                user=request.user, via="session", cart_token=_cart_token(request)
            )
        return None


class GuestAuth(APIKeyHeader):
    """No sign-in: a guest, whose cart is named by X-Cart-Token (or the session)."""

    param_name = CART_TOKEN_HEADER

    def __call__(self, request):
        return Viewer(
            user=AnonymousUser(), via="guest", cart_token=_cart_token(request)
        )

    def authenticate(self, request, key):  # pragma: no cover - __call__ decides
        return None


# Signed-in customers only; everyone (guests too).
SIGNED_IN = [BearerAuth(), SessionAuth()]
ANYONE = [*SIGNED_IN, GuestAuth()]
