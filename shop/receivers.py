"""
Cache invalidation for catalogue changes.

Receivers are used here (rather than calls in services) because the admin's
inline and list edits change catalogue rows without going through services.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .cache import catalogue_bump
from .models import Category, Product, ProductImage, ProductVariant


@receiver([post_save, post_delete], sender=Category)
@receiver([post_save, post_delete], sender=Product)
@receiver([post_save, post_delete], sender=ProductVariant)
@receiver([post_save, post_delete], sender=ProductImage)
def catalogue_changed(sender, **kwargs):
    catalogue_bump()
