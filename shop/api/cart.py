"""
Cart: create, read, add a line, set a quantity, remove a line.

A browser is known by its session cookie, as on the site; an app without
cookies by the opaque token it got when its cart was made (X-Cart-Token).
A signed-in customer has one cart; the first signed-in request that still
carries a guest cart's token merges that cart into theirs, as signing in on
the site does.
"""

from django.conf import settings
from ninja import Path, Router, Status

from config.problems import WRITE, Problem, form_problem
from shop import selectors, services
from shop.forms import AddToCartForm, CartLineForm
from shop.models import Cart, CartLine, ProductVariant
from shop.sessions import session_cart

from .auth import ANYONE
from .schemas import CartLineIn, CartLineOut, CartOut, CartQuantityIn

router = Router(tags=["cart"], auth=ANYONE)

# Row ids are 64-bit; larger numbers would only fail in the database.
ID_MAX = 2**63 - 1


def viewer_cart(request, *, create: bool = False) -> Cart | None:
    """The caller's cart (made when `create`); a 404 problem for a bad token."""
    viewer = request.auth
    if viewer.signed_in:
        if viewer.cart_token:
            guest = services.cart_for_token(token=viewer.cart_token)
            if guest is not None:
                services.cart_adopt(user=viewer.user, cart_id=guest.pk)
        return services.cart_get(user=viewer.user, create=create)
    if viewer.cart_token:
        cart = services.cart_for_token(token=viewer.cart_token)
        if cart is None:
            raise Problem("not-found", "No cart has that token.")
        return cart
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        # A same-site browser: the session's cart, exactly as on the site.
        return session_cart(request.session, create=create)
    return services.cart_token_create() if create else None


def cart_out(cart: Cart | None) -> CartOut:
    summary = selectors.cart_detail(cart=cart)
    return CartOut(
        token=cart.token if cart is not None else None,
        lines=[
            CartLineOut(
                id=line.pk,
                variant_id=line.variant_id,
                product_slug=line.variant.product.slug,
                product_name=line.variant.product.name,
                sku=line.variant.sku,
                options={str(k): str(v) for k, v in line.variant.options.items()},
                image=line.variant.product.primary_image_url,
                unit_price=line.variant.price,
                quantity=line.quantity,
                line_total=line.line_total,
            )
            for line in summary["lines"]
        ],
        count=summary["count"],
        subtotal=summary["subtotal"],
        currency=settings.SHOP_CURRENCY,
        problems=services.cart_problems(cart=cart) if summary["lines"] else [],
    )


@router.get("", response={200: CartOut, **WRITE}, summary="The caller's cart")
def cart_read(request):
    return Status(200, cart_out(viewer_cart(request)))


@router.post("", response={201: CartOut, **WRITE}, summary="Create (or get) a cart")
def cart_create(request):
    return Status(201, cart_out(viewer_cart(request, create=True)))


@router.post(
    "/lines",
    response={201: CartOut, **WRITE},
    summary="Add a variant (the quantity adds to a line already there)",
)
def line_add(request, payload: CartLineIn):
    form = AddToCartForm({"variant": payload.variant_id, "quantity": payload.quantity})
    if not form.is_valid():
        raise form_problem(form)
    variant = (
        ProductVariant.objects.select_related("product")
        .filter(pk=form.cleaned_data["variant"])
        .first()
    )
    if variant is None:
        raise Problem("not-found", "No such variant.")
    cart = viewer_cart(request, create=True)
    try:
        services.cart_add(
            cart=cart, variant=variant, quantity=form.cleaned_data["quantity"]
        )
    except services.CartError as exc:
        raise Problem("cart-rejected", str(exc)) from None
    return Status(201, cart_out(cart))


@router.patch(
    "/lines/{line_id}",
    response={200: CartOut, **WRITE},
    summary="Set a line's quantity (0 removes it)",
)
def line_update(
    request, payload: CartQuantityIn, line_id: int = Path(..., ge=1, le=ID_MAX)
):
    form = CartLineForm({"quantity": payload.quantity})
    if not form.is_valid():
        raise form_problem(form)
    cart = viewer_cart(request)
    try:
        if cart is None:
            raise CartLine.DoesNotExist
        services.cart_set_quantity(
            cart=cart, line_id=line_id, quantity=form.cleaned_data["quantity"]
        )
    except CartLine.DoesNotExist:
        raise Problem("not-found", "No such line in your cart.") from None
    except services.CartError as exc:
        raise Problem("cart-rejected", str(exc)) from None
    return Status(200, cart_out(cart))


@router.delete(
    "/lines/{line_id}", response={200: CartOut, **WRITE}, summary="Remove a line"
)
def line_remove(request, line_id: int = Path(..., ge=1, le=ID_MAX)):
    cart = viewer_cart(request)
    try:
        if cart is None:
            raise CartLine.DoesNotExist
        services.cart_remove(cart=cart, line_id=line_id)
    except CartLine.DoesNotExist:
        raise Problem("not-found", "No such line in your cart.") from None
    return Status(200, cart_out(cart))
