"""
Reactions to other apps and to the admin.

Receivers are used here, rather than calls in services, where the sender
must not know the shop (accounts signs users in; the shop reacts), or where
the admin's inline and list edits change catalogue rows without going
through services.
"""

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.signals import user_email_verified

from .cache import catalogue_bump
from .models import Category, Product, ProductImage, ProductVariant
from .services import CART_SESSION_KEY, cart_adopt, orders_attach_guest


@receiver([post_save, post_delete], sender=Category)
@receiver([post_save, post_delete], sender=Product)
@receiver([post_save, post_delete], sender=ProductVariant)
@receiver([post_save, post_delete], sender=ProductImage)
def catalogue_changed(sender, **kwargs):
    catalogue_bump()


@receiver(user_logged_in)
def cart_adopt_on_sign_in(sender, request, user, **kwargs):
    # The session kept its data, but not its key, through the sign-in.
    session = getattr(request, "session", None)
    cart_id = session.pop(CART_SESSION_KEY, None) if session is not None else None
    if cart_id is not None:
        cart_adopt(user=user, cart_id=cart_id)


@receiver(user_email_verified)
def orders_attach_on_verified_email(sender, user, **kwargs):
    orders_attach_guest(user=user)
