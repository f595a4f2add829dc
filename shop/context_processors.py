from django.conf import settings

from .cache import catalogue_cached
from .selectors import cart_count, category_top


def shop(request):
    return {
        "shop_name": settings.SHOP_NAME,
        "shop_currency": settings.SHOP_CURRENCY,
        "cart_count": lambda: cart_count(
            user=request.user, session_key=request.session.session_key
        ),
        # Shared by every visitor, so cached with the catalogue.
        "nav_categories": lambda: catalogue_cached("category-top", category_top),
    }
