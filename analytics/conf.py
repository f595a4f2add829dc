"""
The analytics settings read on every request, as plain attributes.

Each `settings.X` goes through Django's lazy settings object; a page view
reads several, so they are copied here once, and again whenever a setting
changes (tests override them).
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed


@dataclass(frozen=True, slots=True)
class RequestSettings:
    enabled: bool
    private_mode: str
    require_consent: bool
    session_timeout: int
    time_zone: str


@cache
def conf() -> RequestSettings:
    return RequestSettings(
        enabled=settings.ANALYTICS_ENABLED,
        private_mode=settings.ANALYTICS_PRIVATE_MODE,
        require_consent=settings.ANALYTICS_REQUIRE_CONSENT,
        session_timeout=settings.ANALYTICS_SESSION_TIMEOUT,
        time_zone=settings.TIME_ZONE,
    )


def _setting_changed(*, setting, **kwargs):
    if setting.startswith("ANALYTICS_") or setting == "TIME_ZONE":
        conf.cache_clear()


setting_changed.connect(_setting_changed)
