"""`Authorization: Bearer <access token>` for JSON endpoints."""

from functools import wraps

from django.http import JsonResponse

from .cognito import (
    CognitoError,
    CognitoUnavailable,
    TokenError,
    cognito_call,
    token_verify,
)
from .models import User
from .services import AccountLinkError, user_sync


def _bearer_claims(request) -> tuple[str, dict] | None:
    """The access token in the Authorization header and its verified claims."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        claims = token_verify(token=token.strip(), use="access")
    except TokenError:
        return None
    return token.strip(), claims


def bearer_user(request) -> User | None:
    """
    The active user named by a valid Cognito access token, or None.

    Checks `token_use` = access and `client_id`; raises CognitoUnavailable
    when the keys cannot be fetched.
    """
    found = _bearer_claims(request)
    if found is None:
        return None
    user = User.objects.filter(cognito_sub=found[1]["sub"], is_active=True).first()
    return _unless_revoked(user, found[1])


def _unless_revoked(user: User | None, claims: dict) -> User | None:
    # Signed out or demoted since the token was issued: Cognito's tokens
    # live on until they expire, the user's revocation mark does not.
    if user is not None and user.tokens_revoked(issued_at=claims["iat"]):
        return None
    return user


def bearer_user_linked(request) -> User | None:
    """
    As bearer_user, but a valid token of a Cognito user this shop has not
    seen yet (a frontend signed them in with Cognito directly) creates the
    local user, synced from Cognito's GetUser, once.
    """
    found = _bearer_claims(request)
    if found is None:
        return None
    token, claims = found
    user = User.objects.filter(cognito_sub=claims["sub"]).first()
    if user is None:
        try:
            result = cognito_call("get_user", AccessToken=token)
        except CognitoError:
            return None
        attributes = {a["Name"]: a["Value"] for a in result["UserAttributes"]}
        try:
            user = user_sync(
                claims={
                    **attributes,
                    "sub": claims["sub"],
                    "cognito:groups": claims.get("cognito:groups") or [],
                }
            )
        except AccountLinkError:
            return None
    return _unless_revoked(user, claims) if user.is_active else None


def bearer_required(view):
    """Answer 401 (or 503 when Cognito is unreachable) without a valid token."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            user = bearer_user(request)
        except CognitoUnavailable:
            return JsonResponse(
                {"error": "Sign-in is temporarily unavailable."}, status=503
            )
        if user is None:
            response = JsonResponse(
                {"error": "A valid access token is required."}, status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        request.user = user
        return view(request, *args, **kwargs)

    return wrapper
