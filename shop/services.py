"""Writes for the catalogue, cart and orders."""

import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min, Sum
from django.template.loader import render_to_string
from django.utils import timezone

from analytics.services import event_record

from .cache import catalogue_bump, stock_bump
from .models import (
    Cart,
    CartLine,
    Order,
    OrderLine,
    Product,
    ProductImage,
    ProductVariant,
)
from .payments import payment_provider

logger = logging.getLogger(__name__)

MAX_LINE_QUANTITY = 99


class CartError(Exception):
    """A cart change that cannot be made; the message is shown to the shopper."""


class CheckoutError(Exception):
    """An order that cannot be placed; `problems` lists what to fix."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class OrderStatusError(Exception):
    pass


# ---------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------


def product_index_refresh(*, product_ids: list[int] | None = None) -> None:
    """
    Recompute each product's denormalised listing and search fields.

    Call after variants or images change (the admin, loaders and the demo
    seeder do). Invalidates cached catalogue pages.
    """
    products = Product.objects.all()
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    # Listing fields: one aggregate query, then a bulk update.
    rows = products.annotate(
        min_price=Min("variants__price"), stock=Sum("variants__stock")
    ).values_list("pk", "min_price", "stock")
    first_images = {}
    image_qs = ProductImage.objects.filter(product__in=products).order_by(
        "product_id", "position", "id"
    )
    for image in image_qs.only("product_id", "image", "url"):
        first_images.setdefault(image.product_id, image.src)
    updates = [
        Product(
            pk=pk,
            price_from=min_price or Decimal("0"),
            in_stock=bool(stock and stock > 0),
            primary_image_url=first_images.get(pk, ""),
        )
        for pk, min_price, stock in rows
    ]
    Product.objects.bulk_update(
        updates, ["price_from", "in_stock", "primary_image_url"], batch_size=1000
    )
    if connection.vendor == "postgresql":
        _search_vector_refresh(product_ids)
    catalogue_bump()


def _search_vector_refresh(product_ids: list[int] | None) -> None:
    # Name weighs most, then SKUs, then the description. Done in SQL so a
    # 100k-product catalogue refreshes in one statement.
    where = "" if product_ids is None else "WHERE p.id = ANY(%s)"
    params = [] if product_ids is None else [list(product_ids)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE shop_product p SET search_vector =
                setweight(to_tsvector('english', coalesce(p.name, '')), 'A')
                || setweight(to_tsvector('simple', coalesce(
                    (SELECT string_agg(v.sku, ' ') FROM shop_productvariant v
                     WHERE v.product_id = p.id), '')), 'B')
                || setweight(to_tsvector('english', coalesce(p.description, '')), 'C')
            {where}
            """,
            params,
        )


# ---------------------------------------------------------------------------
# Cart
# ---------------------------------------------------------------------------


# The session entry that remembers a visitor's cart across sign-in, which
# gives the session a new key.
CART_SESSION_KEY = "cart_id"


def cart_get(
    *, user=None, session_key: str | None = None, create: bool = False
) -> Cart | None:
    """The cart of a signed-in user, or of an anonymous session."""
    if user is not None and user.is_authenticated:
        if create:
            return Cart.objects.get_or_create(user=user)[0]
        return Cart.objects.filter(user=user).first()
    if not session_key:
        return None
    if create:
        return Cart.objects.get_or_create(session_key=session_key)[0]
    return Cart.objects.filter(session_key=session_key).first()


def _cart_lock(cart: Cart) -> None:
    """Serialise writes to one cart (SELECT ... FOR UPDATE on its row)."""
    list(Cart.objects.select_for_update().filter(pk=cart.pk).values_list("pk"))


def _check_quantity(variant: ProductVariant, quantity: int) -> None:
    if not variant.product.is_active:
        raise CartError(f"{variant.product.name} is no longer available.")
    if variant.stock <= 0:
        raise CartError(f"Sorry, {variant} is sold out.")
    if quantity > variant.stock:
        raise CartError(
            f"Only {variant.stock} of {variant} left in stock; "
            f"you asked for {quantity}."
        )
    if quantity > MAX_LINE_QUANTITY:
        raise CartError(f"You can buy at most {MAX_LINE_QUANTITY} of one item.")


@transaction.atomic
def cart_add(*, cart: Cart, variant: ProductVariant, quantity: int) -> CartLine:
    """Add `quantity` of `variant`, capped by stock; raises CartError."""
    # Lock the cart row: two first adds of one variant (a double click)
    # would otherwise both insert and one would break the unique constraint.
    _cart_lock(cart)
    line = CartLine.objects.filter(cart=cart, variant=variant).first()
    new_quantity = quantity + (line.quantity if line else 0)
    _check_quantity(variant, new_quantity)
    if line:
        line.quantity = new_quantity
        line.save(update_fields=["quantity"])
    else:
        line = CartLine.objects.create(cart=cart, variant=variant, quantity=quantity)
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    event_record(
        name="add_to_cart",
        product_id=variant.product_id,
        variant_id=variant.pk,
        value=variant.price * quantity,
        currency=settings.SHOP_CURRENCY,
        properties={"quantity": quantity},
    )
    return line


def cart_set_quantity(*, cart: Cart, line_id: int, quantity: int) -> CartLine | None:
    """Change a line's quantity; zero removes it. Raises CartLine.DoesNotExist."""
    line = cart.lines.select_related("variant__product").get(pk=line_id)
    if quantity == 0:
        return cart_remove(cart=cart, line_id=line_id)
    _check_quantity(line.variant, quantity)
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return line


def cart_remove(*, cart: Cart, line_id: int) -> None:
    line = cart.lines.select_related("variant").get(pk=line_id)
    line.delete()
    event_record(
        name="remove_from_cart",
        product_id=line.variant.product_id,
        variant_id=line.variant_id,
        value=line.variant.price * line.quantity,
        currency=settings.SHOP_CURRENCY,
        properties={"quantity": line.quantity},
    )


@transaction.atomic
def cart_merge(*, source: Cart | None, target: Cart) -> Cart:
    """
    Move the lines of `source` (an anonymous cart) into `target`.

    Quantities of the same variant are added, then capped by stock. The
    source cart is deleted. Idempotent: merging a missing cart does nothing.
    """
    if source is None or source.pk == target.pk:
        return target
    existing = {line.variant_id: line for line in target.lines.select_for_update()}
    for line in source.lines.select_related("variant"):
        stock = max(line.variant.stock, 0)
        if line.variant_id in existing:
            kept = existing[line.variant_id]
            kept.quantity = min(kept.quantity + line.quantity, stock, MAX_LINE_QUANTITY)
            if kept.quantity > 0:
                kept.save(update_fields=["quantity"])
            else:
                kept.delete()
        elif stock > 0:
            CartLine.objects.create(
                cart=target,
                variant=line.variant,
                quantity=min(line.quantity, stock, MAX_LINE_QUANTITY),
            )
    source.delete()
    return target


def cart_adopt(*, user, cart_id: int) -> None:
    """Merge a visitor's anonymous cart into the cart of the user who signed in."""
    anonymous = Cart.objects.filter(pk=cart_id, user__isnull=True).first()
    if anonymous is None or not anonymous.lines.exists():
        return
    cart_merge(source=anonymous, target=cart_get(user=user, create=True))


def cart_token_create() -> Cart:
    """A new anonymous cart named by an opaque token, for API clients."""
    return Cart.objects.create(token=secrets.token_urlsafe(32))


def cart_for_token(*, token: str) -> Cart | None:
    """The anonymous cart an API client names by its token (None if unknown)."""
    if not token:
        return None
    return Cart.objects.filter(token=token, user__isnull=True).first()


# ---------------------------------------------------------------------------
# Checkout and orders
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutDetails:
    email: str
    full_name: str
    address_line1: str
    city: str
    postcode: str
    country: str
    shipping_method: str
    payment_method: str
    address_line2: str = ""
    phone: str = ""


def shipping_cost(method: str) -> Decimal:
    return settings.SHOP_SHIPPING_METHODS[method][1]


def _order_number() -> str:
    # Human-friendly: no 0/O or 1/I/L to misread over the phone.
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "NW-" + "".join(secrets.choice(alphabet) for _ in range(8))


def cart_problems(*, cart: Cart) -> list[str]:
    """What stops this cart being ordered as it is (shown at checkout)."""
    problems = []
    for line in cart.lines.select_related("variant__product"):
        try:
            _check_quantity(line.variant, line.quantity)
        except CartError as exc:
            problems.append(str(exc))
    return problems


def order_place(
    *,
    cart: Cart,
    details: CheckoutDetails,
    checkout_token: str,
    user=None,
    session_key: str = "",
) -> Order:
    """
    Turn the cart into an order, atomically.

    Variant rows are locked in id order (so concurrent checkouts cannot
    deadlock), stock is checked again and decremented, and the cart emptied.
    The same `checkout_token` always yields the same order, so a double
    submit places one order. Raises CheckoutError.
    """
    existing = Order.objects.filter(checkout_token=checkout_token).first()
    if existing:
        return existing
    try:
        order = _order_place(
            cart=cart,
            details=details,
            checkout_token=checkout_token,
            user=user,
            session_key=session_key,
        )
    except IntegrityError:
        # A concurrent submit of the same form won the race: return its order.
        existing = Order.objects.filter(checkout_token=checkout_token).first()
        if existing is None:
            raise
        return existing
    return order


@transaction.atomic
def _order_place(*, cart, details, checkout_token, user, session_key) -> Order:
    # Lock the cart before reading its lines: a second checkout of the same
    # cart (another tab, another token) waits here and then finds it empty.
    _cart_lock(cart)
    lines = list(cart.lines.all())
    if not lines:
        raise CheckoutError(["Your cart is empty."])
    quantities = {line.variant_id: line.quantity for line in lines}
    variants = list(
        ProductVariant.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk__in=sorted(quantities))
        .order_by("pk")
    )
    problems = []
    for variant in variants:
        try:
            _check_quantity(variant, quantities[variant.pk])
        except CartError as exc:
            problems.append(str(exc))
    if len(variants) != len(quantities):
        problems.append("An item in your cart is no longer sold.")
    if details.shipping_method not in settings.SHOP_SHIPPING_METHODS:
        problems.append("Choose a shipping method.")
    if problems:
        raise CheckoutError(problems)

    subtotal = sum((v.price * quantities[v.pk] for v in variants), Decimal("0"))
    shipping = shipping_cost(details.shipping_method)
    order = Order.objects.create(
        number=_order_number(),
        user=user if user is not None and user.is_authenticated else None,
        session_key=session_key or "",
        checkout_token=checkout_token,
        email=details.email.lower(),
        full_name=details.full_name,
        phone=details.phone,
        address_line1=details.address_line1,
        address_line2=details.address_line2,
        city=details.city,
        postcode=details.postcode,
        country=details.country,
        shipping_method=details.shipping_method,
        payment_method=details.payment_method,
        currency=settings.SHOP_CURRENCY,
        subtotal=subtotal,
        shipping_cost=shipping,
        total=subtotal + shipping,
    )
    OrderLine.objects.bulk_create(
        OrderLine.snapshot(order=order, variant=v, quantity=quantities[v.pk])
        for v in variants
    )
    for v in variants:
        ProductVariant.objects.filter(pk=v.pk).update(
            stock=F("stock") - quantities[v.pk]
        )
        Product.objects.filter(pk=v.product_id).update(
            units_sold=F("units_sold") + quantities[v.pk]
        )
    payment_provider(details.payment_method).authorise(order=order)
    cart.lines.all().delete()

    sold_out = [v.product_id for v in variants if v.stock - quantities[v.pk] <= 0]
    changed = [v.product_id for v in variants]
    transaction.on_commit(
        lambda: _order_placed(order=order, sold_out=sold_out, changed=changed)
    )
    return order


def _order_placed(*, order: Order, sold_out: list[int], changed: list[int]) -> None:
    stock_bump(changed)
    if sold_out:
        product_index_refresh(product_ids=sold_out)
    event_record(
        name="purchase",
        order_id=order.pk,
        value=order.total,
        currency=order.currency,
        properties={"items": order.lines.count()},
    )
    order_confirmation_send(order=order)


def order_confirmation_send(*, order: Order) -> None:
    """Email the confirmation; a mail failure never undoes the order."""
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "site_url": settings.SITE_URL,
    }
    try:
        send_mail(
            subject=f"Your {settings.SHOP_NAME} order {order.number}",
            message=render_to_string("shop/email/order_confirmation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[order.email],
        )
    except Exception:
        logger.exception("Could not send the confirmation for order %s", order.number)


@transaction.atomic
def order_set_status(*, order: Order, status: str) -> Order:
    """Move an order to `status`, enforcing Order.TRANSITIONS."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not order.can_transition_to(status):
        raise OrderStatusError(
            f"An order that is {order.get_status_display().lower()} "
            f"cannot become {Order.Status(status).label.lower()}."
        )
    if status == Order.Status.CANCELLED:
        _order_restock(order=order)
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    return order


def order_cancel(*, order: Order) -> Order:
    return order_set_status(order=order, status=Order.Status.CANCELLED)


def _order_restock(*, order: Order) -> None:
    lines = sorted(
        (line for line in order.lines.all() if line.variant_id),
        key=lambda line: line.variant_id,
    )
    for line in lines:
        ProductVariant.objects.filter(pk=line.variant_id).update(
            stock=F("stock") + line.quantity
        )
        Product.objects.filter(
            pk=line.product_id, units_sold__gte=line.quantity
        ).update(units_sold=F("units_sold") - line.quantity)
    product_ids = [line.product_id for line in lines if line.product_id]
    transaction.on_commit(lambda: stock_bump(product_ids))
    transaction.on_commit(lambda: product_index_refresh(product_ids=product_ids))


def orders_attach_guest(*, user) -> int:
    """Tie guest orders placed with the user's (verified) email to them."""
    return Order.objects.filter(user__isnull=True, email__iexact=user.email).update(
        user=user
    )
