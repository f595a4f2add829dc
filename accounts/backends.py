"""Authentication by Cognito tokens (the password never reaches Django)."""

from django.contrib.auth.backends import BaseBackend

from .models import User
from .services import user_from_tokens


class CognitoBackend(BaseBackend):
    """
    Signs in the user that verified Cognito tokens name.

    `authenticate(request, cognito_tokens=..., email_verified=..., nonce=...)`
    verifies and syncs through accounts.services.user_from_tokens; calls
    without tokens (e.g. a username and password) fall through to the next
    backend.
    """

    def authenticate(
        self, request, cognito_tokens=None, email_verified=False, nonce=None, **kwargs
    ):
        if cognito_tokens is None:
            return None
        user = user_from_tokens(
            tokens=cognito_tokens, email_verified=email_verified, nonce=nonce
        )
        return user if user.is_active else None

    def get_user(self, user_id):
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None
