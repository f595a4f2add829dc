"""`Authorization: Bearer <access token>` for JSON endpoints."""

from functools import wraps

from django.http import JsonResponse

from .cognito import CognitoUnavailable, TokenError, token_verify
from .models import User


def bearer_user(request) -> User | None:
    """
    The active user named by a valid Cognito access token, or None.

    Checks `token_use` = access and `client_id`; raises CognitoUnavailable
    when the keys cannot be fetched.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        claims = token_verify(token=token.strip(), use="access")
    except TokenError:
        return None
    return User.objects.filter(cognito_sub=claims["sub"], is_active=True).first()


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
