"""
A visitor's cart through the browser session: one rule for the pages and
the JSON API.

The cart is keyed on the session, and its id is also kept in the session's
data: signing in gives the session a new key but keeps its data, and the
shop's `user_logged_in` receiver finds the cart by that id to merge it.
"""

from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from . import services
from .models import Cart, ProductVariant


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


def session_cart_add(
    session, *, variant: ProductVariant, quantity: int
) -> services.CartAdded:
    """
    Add to the anonymous visitor's cart; raises CartError.

    A visitor's first add writes the cart, its line and the session in one
    transaction: one commit, where making each on its own took four.
    """
    cart_id = session.get(services.CART_SESSION_KEY)  # a lapsed key is none
    if session.session_key:
        if cart_id is not None:
            # The session names its cart: the add's lock is its only read.
            cart = Cart(pk=cart_id, session_key=session.session_key)
            try:
                return services.cart_add(cart=cart, variant=variant, quantity=quantity)
            except Cart.DoesNotExist:
                pass  # cleared away since: found or made again below
        cart = session_cart(session, create=True)
        return services.cart_add(cart=cart, variant=variant, quantity=quantity)
    # Refused before anything is written: the session row is written with
    # the cart's id, once, in the cart's transaction.
    services.cart_line_check(variant=variant, quantity=quantity)
    key = session._get_or_create_session_key()  # drawn, not yet saved
    with transaction.atomic():
        added = services.cart_add(
            cart=Cart(session_key=key), variant=variant, quantity=quantity
        )
        session[services.CART_SESSION_KEY] = added.line.cart_id
        # config/sessions.py skips the same data at the end of the request.
        session.save(must_create=True)
    return added


def cart_count_note(request, count: int) -> None:
    """
    Remember the visitor's cart count after a cart write, so that what the
    response shows of the cart (the header) needs no query for it.
    """
    request.cart_count_known = count


def cart_count_noted(request) -> int | None:
    """The count a cart write of this request noted (None: none did)."""
    return getattr(request, "cart_count_known", None)
