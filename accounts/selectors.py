"""Reads for account pages and checkout."""

from django.db.models import Count, QuerySet

from shop.models import Order

from .models import Address, User

ADDRESS_KEYS = [
    "full_name",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "country",
]


def address_default(*, user) -> dict:
    """The user's default address as checkout initial data ({} when none)."""
    if user is None or not user.is_authenticated:
        return {}
    address = Address.objects.filter(user=user).order_by("-is_default", "-id").first()
    if address is None:
        return {}
    return {key: getattr(address, key) for key in ADDRESS_KEYS}


def address_list(*, user: User) -> list[Address]:
    return list(Address.objects.filter(user=user))


def order_history(*, user: User) -> QuerySet[Order]:
    """The user's orders, newest first, with a line count for the list."""
    return (
        Order.objects.filter(user=user)
        .annotate(item_count=Count("lines"))
        .order_by("-created_at")
    )
