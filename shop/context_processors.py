from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .cache import catalogue_cached
from .header import header_state
from .selectors import category_top


def shop(request):
    return {
        "shop_name": settings.SHOP_NAME,
        "shop_currency": settings.SHOP_CURRENCY,
        # The header's personal parts, read only by a page that shows them.
        "header": SimpleLazyObject(lambda: header_state(request)),
        # Shared by every visitor, so cached with the catalogue.
        "nav_categories": lambda: catalogue_cached("category-top", category_top),
    }
