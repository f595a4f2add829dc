"""System checks for the project's own settings."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

MISSING_KEY = "Set the DJANGO_SECRET_KEY environment variable (a long random string)."


@register(Tags.security, deploy=True)
def secret_key_set(app_configs, **kwargs):
    if settings.SECRET_KEY_MISSING:
        return [Error(MISSING_KEY, id="config.E001")]
    return []


def serving_allowed() -> None:
    """Refuse to serve requests on the throwaway key outside development."""
    if settings.SECRET_KEY_MISSING and not settings.DEBUG:
        raise ImproperlyConfigured(MISSING_KEY)
