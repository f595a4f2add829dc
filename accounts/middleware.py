"""
Keeps a Cognito-backed session fresh and honest: refreshes tokens, re-syncs
groups, and honours the user's revocation mark.
"""

import logging
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from .cognito import CognitoError, CognitoUnavailable, TokenError
from .selectors import user_revoked_mark
from .services import AccountLinkError, account_refresh, user_from_tokens

logger = logging.getLogger(__name__)

SESSION_TOKENS = "cognito_tokens"
# When the session signed in, and when its user's groups were last synced
# from Cognito (epoch seconds).
SESSION_SIGNED_IN_AT = "cognito_signed_in_at"
SESSION_SYNCED_AT = "cognito_synced_at"
# Whether the user was staff at that sync: staff sessions re-sync sooner.
SESSION_STAFF = "cognito_staff"
# When the last refresh found Cognito unreachable (epoch seconds); further
# attempts wait REFRESH_RETRY_SECONDS so an outage does not add a timeout to
# every signed-in request.
SESSION_REFRESH_FAILED = "cognito_refresh_failed_at"
REFRESH_RETRY_SECONDS = 60
# A staff member removed from the group loses staff access within this.
STAFF_RECHECK_SECONDS = 300
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def session_signed_in(request) -> None:
    """Stamp a session that has just signed in through Cognito."""
    now = time.time()
    request.session[SESSION_SIGNED_IN_AT] = now
    request.session[SESSION_SYNCED_AT] = now
    request.session[SESSION_STAFF] = request.user.is_staff


def session_check(request, *, force: bool = False) -> bool:
    """
    Keep the Cognito session in `request` honest, and say whether it may go
    on as it is.

    A session the user's revocation mark covers (signed out elsewhere,
    demoted) is signed out. The tokens are refreshed, and the user's groups
    synced, when the access token expires; for staff, also when the groups
    were synced over STAFF_RECHECK_SECONDS ago, and at once with `force` (a
    staff-only write). False when the session was signed out, or when a
    forced check could not reach Cognito.

    Until a refresh is due this reads the session and one cache entry (the
    revocation mark): not the user, and nothing from the database.
    """
    session = request.session
    tokens = session.get(SESSION_TOKENS)
    if not tokens:
        return True
    user_id = session.get(SESSION_KEY)
    if user_id is None:  # signed out, tokens left behind
        session.pop(SESSION_TOKENS, None)
        return True
    if session.get(SESSION_SIGNED_IN_AT, 0) < user_revoked_mark(user_id=user_id):
        logout(request)
        return False
    now = time.time()
    staff = session.get(SESSION_STAFF)
    if staff is None:  # a session from before the flag was kept
        staff = session[SESSION_STAFF] = request.user.is_staff
    staff_due = staff and (
        force or now - session.get(SESSION_SYNCED_AT, 0) >= STAFF_RECHECK_SECONDS
    )
    if not staff_due and tokens.get("expires_at", 0) > now + 30:
        return True
    if not force and now - session.get(SESSION_REFRESH_FAILED, 0) < (
        REFRESH_RETRY_SECONDS
    ):
        return True
    user = request.user
    if not user.is_authenticated or not user.cognito_sub:
        session.pop(SESSION_TOKENS, None)
        return True
    return _refresh(request, tokens, user, force=force)


def _refresh(request, tokens, user, *, force: bool) -> bool:
    try:
        fresh = account_refresh(refresh_token=tokens["refresh"], sub=user.cognito_sub)
        synced = user_from_tokens(tokens=fresh)
    except CognitoUnavailable as exc:
        logger.warning(
            "Token refresh skipped for %ss: %s",
            REFRESH_RETRY_SECONDS,
            exc.__class__.__name__,
        )
        request.session[SESSION_REFRESH_FAILED] = time.time()
        return not force
    except (CognitoError, TokenError, AccountLinkError) as exc:
        logger.info("Refresh refused (%s); signing out", exc.__class__.__name__)
        logout(request)
        return False
    signed_in_at = request.session.get(SESSION_SIGNED_IN_AT, 0)
    if (
        synced.pk != user.pk
        or not synced.is_active
        or synced.tokens_revoked(issued_at=signed_in_at)  # demoted just now
    ):
        logout(request)
        return False
    request.session[SESSION_TOKENS] = fresh.as_session()
    request.session[SESSION_SYNCED_AT] = time.time()
    request.session[SESSION_STAFF] = synced.is_staff
    request.session.pop(SESSION_REFRESH_FAILED, None)
    request.user = synced
    return True


class CognitoSessionMiddleware:
    """
    Runs `session_check` for every request of a Cognito session that reads
    its user: the new ID token re-syncs the user, so removing someone from a
    group demotes them here (staff within STAFF_RECHECK_SECONDS, and at once
    on a write in the Django admin). A revoked refresh token signs the user
    out; Cognito being unreachable leaves the session as it is and pauses
    refreshing for a minute.

    The check runs when the request first reads `request.user`, before the
    user is used: a request that never does (a shared catalogue page, a
    beacon) shows nothing of the user's, so it reads neither the session
    nor the cache. A write in the Django admin is checked up front.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
        if request.method not in SAFE_METHODS and request.path.startswith(
            self._admin_prefix
        ):
            if not session_check(request, force=True):
                raise PermissionDenied("Your staff access could not be confirmed.")
            return self.get_response(request)
        unchecked = request.user

        def checked():
            request.user = unchecked
            session_check(request)
            user = request.user  # signed out, re-synced, or as it was
            user.is_authenticated  # noqa: B018 (loads a lazy user)
            return getattr(user, "_wrapped", user)

        request.user = SimpleLazyObject(checked)
        return self.get_response(request)
