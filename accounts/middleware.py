"""Keeps a Cognito-backed session fresh: refreshes tokens and re-syncs groups."""

import logging
import time

from django.contrib.auth import logout

from .cognito import CognitoError, CognitoUnavailable, TokenError
from .services import AccountLinkError, account_refresh, user_from_tokens

logger = logging.getLogger(__name__)

SESSION_TOKENS = "cognito_tokens"
# When the last refresh found Cognito unreachable (epoch seconds); further
# attempts wait REFRESH_RETRY_SECONDS so an outage does not add a timeout to
# every signed-in request.
SESSION_REFRESH_FAILED = "cognito_refresh_failed_at"
REFRESH_RETRY_SECONDS = 60


class CognitoSessionMiddleware:
    """
    When the access token in the session has expired, use the refresh token.

    The new ID token re-syncs the user, so removing someone from a group
    demotes them here. A revoked refresh token signs the user out; Cognito
    being unreachable leaves the session as it is and pauses refreshing for
    a minute.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tokens = request.session.get(SESSION_TOKENS)
        now = time.time()
        if tokens and tokens.get("expires_at", 0) <= now + 30:
            failed_at = request.session.get(SESSION_REFRESH_FAILED, 0)
            if now - failed_at >= REFRESH_RETRY_SECONDS:
                self._refresh(request, tokens)
        return self.get_response(request)

    def _refresh(self, request, tokens):
        user = request.user
        if not user.is_authenticated or not user.cognito_sub:
            request.session.pop(SESSION_TOKENS, None)
            return
        try:
            fresh = account_refresh(
                refresh_token=tokens["refresh"], sub=user.cognito_sub
            )
            synced = user_from_tokens(tokens=fresh)
        except CognitoUnavailable as exc:
            logger.warning(
                "Token refresh skipped for %ss: %s",
                REFRESH_RETRY_SECONDS,
                exc.__class__.__name__,
            )
            request.session[SESSION_REFRESH_FAILED] = time.time()
            return
        except (CognitoError, TokenError, AccountLinkError) as exc:
            logger.info("Refresh refused (%s); signing out", exc.__class__.__name__)
            logout(request)
            return
        if synced.pk != user.pk or not synced.is_active:
            logout(request)
            return
        request.session[SESSION_TOKENS] = fresh.as_session()
        request.session.pop(SESSION_REFRESH_FAILED, None)
        request.user = synced
