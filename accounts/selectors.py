"""Reads for account pages and checkout."""

from .models import Address, User


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
