"""
A visitor's cart through the browser session: one rule for the pages and
the JSON API.

The cart is keyed on the session, and its id is also kept in the session's
data: signing in gives the session a new key but keeps its data, and the
shop's `user_logged_in` receiver finds the cart by that id to merge it.
"""

from django.contrib.auth.models import AnonymousUser

from . import services
from .models import Cart


def session_key_ensure(session) -> str:
    """The session's key, saving a new session first so that it has one."""
    if not session.session_key:
        session.save()
    return session.session_key


def session_cart(session, *, create: bool = False) -> Cart | None:
    """The anonymous visitor's cart (made when `create`)."""
    key = session_key_ensure(session) if create else session.session_key
    cart = services.cart_get(user=AnonymousUser(), session_key=key, create=create)
    if cart is not None and session.get(services.CART_SESSION_KEY) != cart.pk:
        session[services.CART_SESSION_KEY] = cart.pk
    return cart
