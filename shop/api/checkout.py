"""
Checkout: place an order from the caller's cart.

`Idempotency-Key` is mapped onto the checkout form's token: a retried POST
with the same key returns the same order, never a second one. The key is
scoped to the caller (hashed with their user, session or cart token), so
two clients choosing the same key cannot see each other's orders.
"""

import hashlib

from django.conf import settings
from ninja import Header, Router, Status

from accounts.models import COUNTRIES
from config.problems import WRITE, Problem, form_problem
from shop import selectors, services
from shop.forms import CheckoutForm
from shop.payments import payment_providers

from .auth import ANYONE
from .cart import viewer_cart
from .orders import order_out
from .schemas import CheckoutIn, CheckoutOptionsOut, ChoiceOut, OrderOut

router = Router(tags=["checkout"])


def _payment_choices() -> list[tuple[str, str]]:
    return [(p.code, p.label) for p in payment_providers()]


def _checkout_token(request, key: str) -> str:
    viewer = request.auth
    if viewer.signed_in:
        scope = f"user:{viewer.user.pk}"
    elif viewer.cart_token:
        scope = f"cart:{viewer.cart_token}"
    else:
        scope = f"session:{request.session.session_key or ''}"
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
    return f"api-{digest[:60]}"


@router.get(
    "/options",
    response=CheckoutOptionsOut,
    auth=None,
    summary="Shipping methods, payment methods and countries for the form",
)
def options(request):
    return CheckoutOptionsOut(
        currency=settings.SHOP_CURRENCY,
        shipping_methods=[
            ChoiceOut(code=code, label=label, price=price)
            for code, (label, price) in settings.SHOP_SHIPPING_METHODS.items()
        ],
        payment_methods=[
            ChoiceOut(code=code, label=label) for code, label in _payment_choices()
        ],
        countries=[ChoiceOut(code=code, label=name) for code, name in COUNTRIES],
    )


@router.post(
    "",
    response={201: OrderOut, **WRITE},
    auth=ANYONE,
    summary="Place an order from the cart",
)
def checkout(
    request,
    payload: CheckoutIn,
    idempotency_key: str = Header(
        ...,
        alias="Idempotency-Key",
        min_length=16,
        max_length=200,
        description="A random value per purchase (e.g. a UUID); a retry "
        "with the same key returns the same order.",
    ),
):
    token = _checkout_token(request, idempotency_key)
    form = CheckoutForm(
        {**payload.model_dump(), "checkout_token": token},
        payment_choices=_payment_choices(),
    )
    if not form.is_valid():
        raise form_problem(form)
    viewer = request.auth
    session_key = request.session.session_key if viewer.via == "session" else None
    if viewer.via == "guest" and not viewer.cart_token:
        session_key = request.session.session_key
    cart = viewer_cart(request)
    if cart is None:
        # A retry after the order emptied (and a sign-in removed) the cart.
        placed = selectors.order_for_checkout_token(
            token=token, user=viewer.user, session_key=session_key
        )
        if placed is None:
            raise Problem("checkout-rejected", problems=["Your cart is empty."])
        return Status(201, order_out(placed))
    data = {k: v for k, v in form.cleaned_data.items() if k != "checkout_token"}
    try:
        order = services.order_place(
            cart=cart,
            details=services.CheckoutDetails(**data),
            checkout_token=token,
            user=viewer.user,
            session_key=session_key or "",
        )
    except services.CheckoutError as exc:
        raise Problem("checkout-rejected", problems=exc.problems) from None
    return Status(201, order_out(order))
