"""Reads for account pages, checkout and the session check."""

from contextlib import suppress

from django.core.cache import cache

from .models import Address, User

# How long a cached revocation mark is trusted: the longest a session can
# outlive a sign-out elsewhere should the cache miss that sign-out's write.
REVOCATION_CACHE_SECONDS = 300


def revocation_cache_key(*, user_id) -> str:
    return f"accounts:revoked:{user_id}"


def user_revoked_mark(*, user_id) -> float:
    """
    When the tokens and sessions of user `user_id` were last revoked (epoch
    seconds, 0 if never): from the shared cache, else from the database
    (and cached). Every signed-in request asks, so it costs one cache read,
    not a query.
    """
    key = revocation_cache_key(user_id=user_id)
    try:
        mark = cache.get(key)
    except Exception:  # the cache is away: ask the database
        mark = None
    if mark is not None:
        return mark
    revoked_at = (
        User.objects.filter(pk=user_id)
        .values_list("tokens_revoked_at", flat=True)
        .first()
    )
    mark = revoked_at.timestamp() if revoked_at else 0.0
    with suppress(Exception):
        cache.set(key, mark, timeout=REVOCATION_CACHE_SECONDS)
    return mark


def address_default(*, user) -> dict:
    """The user's default address as checkout initial data ({} when none)."""
    if user is None or not user.is_authenticated:
        return {}
    address = Address.objects.filter(user=user).order_by("-is_default", "-id").first()
    if address is None:
        return {}
    return address.address_fields()


def address_list(*, user: User) -> list[Address]:
    return list(Address.objects.filter(user=user))
