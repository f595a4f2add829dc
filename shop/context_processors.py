from django.conf import settings

from .selectors import cart_count


def shop(request):
    return {
        "shop_name": settings.SHOP_NAME,
        "shop_currency": settings.SHOP_CURRENCY,
        "cart_count": lambda: cart_count(
            user=request.user, session_key=request.session.session_key
        ),
    }
