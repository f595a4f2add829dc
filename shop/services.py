"""Writes for the catalogue, cart and orders."""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q, Sum
from django.utils import timezone

from analytics.services import event_record, tracking_ids

from .cache import catalogue_bump, stock_bump
from .models import (
    Cart,
    CartLine,
    Order,
    OrderLine,
    OrderStatusChange,
    PaymentEvent,
    Product,
    ProductImage,
    ProductVariant,
    Refund,
    RefundLine,
)
from .payments import (
    PaymentError,
    PaymentSession,
    PaymentState,
    PaymentUpdate,
    payment_provider,
)
from .tasks import order_email_send

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


class RefundError(Exception):
    """A refund that cannot be made; the message is shown to staff."""


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
        min_price=Min("variants__price"),
        stock=Sum("variants__stock"),
        untracked=Count("variants", filter=Q(variants__track_inventory=False)),
    ).values_list("pk", "min_price", "stock", "untracked")
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
            in_stock=bool(untracked or (stock and stock > 0)),
            primary_image_url=first_images.get(pk, ""),
        )
        for pk, min_price, stock, untracked in rows
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
    if not variant.in_stock:
        raise CartError(f"Sorry, {variant} is sold out.")
    if variant.track_inventory and quantity > variant.stock:
        raise CartError(
            f"Only {variant.stock} of {variant} left in stock; "
            f"you asked for {quantity}."
        )
    if quantity > MAX_LINE_QUANTITY:
        raise CartError(f"You can buy at most {MAX_LINE_QUANTITY} of one item.")


def cart_line_check(*, variant: ProductVariant, quantity: int) -> None:
    """Raise CartError unless a line of `quantity` of `variant` can be bought."""
    _check_quantity(variant, quantity)


class CartAdded(NamedTuple):
    line: CartLine
    # Units in the whole cart after the add, for the header: no query needed.
    cart_count: int


def cart_add(*, cart: Cart, variant: ProductVariant, quantity: int) -> CartAdded:
    """
    Add `quantity` of `variant`, capped by stock; raises CartError.

    A cart not yet saved (a new visitor's, which no other request can know)
    is saved with its first line. Raises Cart.DoesNotExist if `cart` is
    gone (a cart named by its id alone, never read).
    """
    if cart.pk is None:
        _check_quantity(variant, quantity)
        # Nothing is refused past the check: in a caller's transaction, no
        # savepoint is needed.
        with transaction.atomic(savepoint=False):
            cart.save(force_insert=True)
            line = CartLine.objects.create(
                cart=cart, variant=variant, quantity=quantity
            )
        _cart_added(variant, quantity)
        return CartAdded(line, quantity)
    with transaction.atomic():
        # Lock the cart row while marking it changed: two first adds of one
        # variant (a double click) would otherwise both insert and one would
        # break the unique constraint.
        if not Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now()):
            raise Cart.DoesNotExist(f"No cart {cart.pk}.")
        lines = list(CartLine.objects.filter(cart=cart).order_by())
        line = next((line for line in lines if line.variant_id == variant.pk), None)
        new_quantity = quantity + (line.quantity if line else 0)
        _check_quantity(variant, new_quantity)
        if line:
            line.quantity = new_quantity
            line.save(update_fields=["quantity"])
        else:
            line = CartLine.objects.create(
                cart=cart, variant=variant, quantity=quantity
            )
            lines.append(line)
        _cart_added(variant, quantity)
    return CartAdded(line, sum(line.quantity for line in lines))


def _cart_added(variant: ProductVariant, quantity: int) -> None:
    event_record(
        name="add_to_cart",
        product_id=variant.product_id,
        variant_id=variant.pk,
        value=variant.price * quantity,
        currency=settings.SHOP_CURRENCY,
        properties={"quantity": quantity},
    )


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
        stock = (
            max(line.variant.stock, 0)
            if line.variant.track_inventory
            else MAX_LINE_QUANTITY
        )
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


def _variants_lock(*, variant_ids: list[int]) -> list[ProductVariant]:
    """Lock the variants' rows in id order, so concurrent checkouts cannot deadlock."""
    return list(
        ProductVariant.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk__in=sorted(variant_ids))
        .order_by("pk")
    )


def _checkout_problems(
    *,
    variants: list[ProductVariant],
    quantities: dict[int, int],
    shipping_method: str,
) -> list[str]:
    problems = []
    for variant in variants:
        try:
            _check_quantity(variant, quantities[variant.pk])
        except CartError as exc:
            problems.append(str(exc))
    if len(variants) != len(quantities):
        problems.append("An item in your cart is no longer sold.")
    if shipping_method not in settings.SHOP_SHIPPING_METHODS:
        problems.append("Choose a shipping method.")
    return problems


def _order_create(
    *,
    details: CheckoutDetails,
    variants: list[ProductVariant],
    quantities: dict[int, int],
    hold: bool,
    checkout_token: str,
    user,
    session_key: str,
) -> Order:
    subtotal = sum((v.price * quantities[v.pk] for v in variants), Decimal("0"))
    shipping = shipping_cost(details.shipping_method)
    visitor = tracking_ids()
    return Order.objects.create(
        number=_order_number(),
        user=user if user is not None and user.is_authenticated else None,
        session_key=session_key or "",
        analytics_visitor_id=visitor.visitor_id,
        analytics_session_id=visitor.session_id,
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
        status=Order.Status.AWAITING_PAYMENT if hold else Order.Status.PENDING,
        hold_expires_at=(
            timezone.now() + timedelta(minutes=settings.SHOP_PAYMENT_HOLD_MINUTES)
            if hold
            else None
        ),
    )


@transaction.atomic
def _order_place(*, cart, details, checkout_token, user, session_key) -> Order:
    # Lock the cart before reading its lines: a second checkout of the same
    # cart (another tab, another token) waits here and then finds it empty.
    _cart_lock(cart)
    lines = list(cart.lines.all())
    if not lines:
        raise CheckoutError(["Your cart is empty."])
    quantities = {line.variant_id: line.quantity for line in lines}
    variants = _variants_lock(variant_ids=list(quantities))
    problems = _checkout_problems(
        variants=variants,
        quantities=quantities,
        shipping_method=details.shipping_method,
    )
    if problems:
        raise CheckoutError(problems)

    try:
        provider = payment_provider(details.payment_method)
    except KeyError:
        raise CheckoutError(["Choose a way to pay."]) from None

    # A card order holds its stock, not sells it, until the payment succeeds.
    hold = provider.holds_stock
    order = _order_create(
        details=details,
        variants=variants,
        quantities=quantities,
        hold=hold,
        checkout_token=checkout_token,
        user=user,
        session_key=session_key,
    )
    _order_status_record(order=order)
    OrderLine.objects.bulk_create(
        OrderLine.snapshot(order=order, variant=v, quantity=quantities[v.pk])
        for v in variants
    )
    for v in variants:
        # An untracked variant's stock is not counted: never decremented.
        ProductVariant.objects.filter(pk=v.pk, track_inventory=True).update(
            stock=F("stock") - quantities[v.pk]
        )
    if not hold:
        _units_sold_add(order=order, sign=1)
    provider.authorise(order=order)
    cart.lines.all().delete()

    sold_out = [
        v.product_id
        for v in variants
        if v.track_inventory and v.stock - quantities[v.pk] <= 0
    ]
    changed = [v.product_id for v in variants]
    transaction.on_commit(lambda: _stock_changed(changed=changed, sold_out=sold_out))
    if not hold:
        _order_confirmed(order=order, email="confirmed")
    return order


def _stock_changed(*, changed: list[int], sold_out: list[int] | None = None) -> None:
    stock_bump(changed)
    if sold_out is None or sold_out:
        product_index_refresh(product_ids=sold_out or changed)


def _units_sold_add(*, order: Order, sign: int) -> None:
    for line in order.lines.exclude(product=None).order_by("product_id"):
        Product.objects.filter(pk=line.product_id).update(
            units_sold=F("units_sold") + sign * line.quantity
        )


def _order_confirmed(*, order: Order, email: str) -> None:
    """
    On commit: the sale's `purchase` event and the shopper's email. The
    event is the shopper's, from the visitor and session kept at checkout,
    whichever request (theirs, a webhook, a job) confirms the order.
    """
    shopper = {}
    if order.analytics_visitor_id:
        shopper = {
            "visitor_id": order.analytics_visitor_id,
            "session_id": order.analytics_session_id,
            "user_id": order.user_id,
        }

    def confirmed():
        event_record(
            name="purchase",
            order_id=order.pk,
            value=order.total,
            currency=order.currency,
            properties={"items": order.lines.count()},
            **shopper,
        )

    transaction.on_commit(confirmed)
    order_email(order=order, kind=email)


def order_email(*, order: Order, kind: str) -> None:
    """
    Queue an order email for the task worker, once the transaction commits.

    Sending never blocks or fails the request: the worker sends it and
    retries a failed send (shop/tasks.py).
    """

    def enqueue():
        try:
            order_email_send.enqueue(order_id=order.pk, kind=kind)
        except Exception:
            logger.exception("Could not queue the %s email of %s", kind, order.number)

    transaction.on_commit(enqueue)


# ---------------------------------------------------------------------------
# Card payments: the stock hold, confirmation, release and refunds
# (docs/payments.md). Every change locks the order row first, so a webhook,
# the shopper's return and the expiry job may race and still act once.
# ---------------------------------------------------------------------------


def order_payment_start(*, order: Order) -> PaymentSession:
    """Open the payment of a card order awaiting it; raises PaymentError."""
    if order.status != Order.Status.AWAITING_PAYMENT:
        raise PaymentError("This order is not waiting for a payment.")
    session = payment_provider(order.payment_method).payment_start(order=order)
    if order.payment_reference != session.reference:
        Order.objects.filter(pk=order.pk, payment_reference="").update(
            payment_reference=session.reference
        )
        order.payment_reference = session.reference
        event_record(
            name="payment_started",
            order_id=order.pk,
            value=order.total,
            currency=order.currency,
        )
    return session


def order_payment_sync(*, order: Order) -> Order:
    """
    Ask the provider where the order's payment stands and apply it.

    What the shopper's browser says on return is never trusted: only this
    server-to-server answer, or a verified webhook, marks an order paid.
    """
    if not order.payment_reference:
        return order
    provider = payment_provider(order.payment_method)
    update = provider.payment_retrieve(reference=order.payment_reference)
    return order_payment_update(update=update) or order


def order_payment_update(*, update: PaymentUpdate) -> Order | None:
    """Apply a verified payment update to its order (None if no order matches)."""
    order = Order.objects.filter(payment_reference=update.reference).first()
    if order is None and update.order_number:
        order = Order.objects.filter(
            number=update.order_number, payment_reference=""
        ).first()
    if order is None:
        return None
    if update.state == PaymentState.SUCCEEDED:
        return order_payment_succeeded(order=order, reference=update.reference)
    if update.state in {PaymentState.FAILED, PaymentState.CANCELED}:
        order_hold_release(order=order)
        order.refresh_from_db()
    return order


@transaction.atomic
def payment_event_handle(*, provider: str, event_id: str, type: str, update) -> bool:
    """
    Apply one webhook event, once: False when this event id was seen before.

    The event's id is stored in the same transaction as its effect, so an
    event whose handling fails is not marked seen and the provider's retry
    is applied.
    """
    try:
        with transaction.atomic():
            PaymentEvent.objects.create(provider=provider, event_id=event_id, type=type)
    except IntegrityError:
        return False
    if update is not None:
        order_payment_update(update=update)
    return True


@transaction.atomic
def order_pay_on_delivery(*, order: Order) -> Order:
    """
    Turn a card order still awaiting payment into cash on delivery.

    For a shopper without JavaScript (or who changes their mind): the held
    stock becomes sold, as for any cash order, and the card payment is
    stopped. Raises OrderStatusError if the order no longer waits.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.AWAITING_PAYMENT:
        raise OrderStatusError("This order is no longer waiting for a payment.")
    reference = order.payment_reference
    card_method = order.payment_method
    order.payment_method = "cod"
    order.status = Order.Status.PENDING
    order.hold_expires_at = None
    order.save(
        update_fields=["payment_method", "status", "hold_expires_at", "updated_at"]
    )
    _order_status_record(order=order)
    _units_sold_add(order=order, sign=1)
    if reference:
        transaction.on_commit(
            lambda: _payment_cancel_quietly(order=order, method=card_method)
        )
    _order_confirmed(order=order, email="confirmed")
    return order


def _stock_take(*, order: Order) -> bool:
    """Take the order's units off the shelf again, all or none (rows locked)."""
    lines = [
        line
        for line in order.lines.all()
        if line.variant_id and line.quantity_restocked
    ]
    wanted = {}
    for line in lines:
        wanted[line.variant_id] = wanted.get(line.variant_id, 0) + (
            line.quantity_restocked
        )
    variants = {
        v.pk: v
        for v in ProductVariant.objects.select_for_update()
        .filter(pk__in=sorted(wanted))
        .order_by("pk")
    }
    if len(variants) != len(wanted) or any(
        variants[pk].track_inventory and variants[pk].stock < quantity
        for pk, quantity in wanted.items()
    ):
        return False
    for pk, quantity in sorted(wanted.items()):
        ProductVariant.objects.filter(pk=pk, track_inventory=True).update(
            stock=F("stock") - quantity
        )
    OrderLine.objects.filter(order=order).update(quantity_restocked=0)
    changed = sorted({line.product_id for line in lines if line.product_id})
    transaction.on_commit(lambda: _stock_changed(changed=changed))
    return True


@transaction.atomic
def order_payment_succeeded(*, order: Order, reference: str) -> Order:
    """
    Confirm a card order whose payment succeeded; idempotent.

    Within the hold, the held stock becomes sold. After it (the hold was
    released), the stock is taken again if it is still there; otherwise the
    payment is refunded in full and the order cancelled, and the shopper
    told by email.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.paid_at is not None:
        return order
    order.paid_at = timezone.now()
    order.payment_reference = order.payment_reference or reference
    if order.status == Order.Status.UNPAID and not _stock_take(order=order):
        order.status = Order.Status.CANCELLED
        order.save(
            update_fields=["paid_at", "payment_reference", "status", "updated_at"]
        )
        _order_status_record(order=order)
        _order_refund(
            order=order,
            amount=order.total,
            reason="Paid after the hold expired; the items had sold out.",
        )
        return order
    if order.status not in {Order.Status.AWAITING_PAYMENT, Order.Status.UNPAID}:
        # Cancelled while the shopper paid: the money goes back.
        order.save(update_fields=["paid_at", "payment_reference", "updated_at"])
        if order.status == Order.Status.CANCELLED:
            _order_refund(order=order, amount=order.total, reason="Order cancelled.")
        return order
    order.status = Order.Status.PAID
    order.hold_expires_at = None
    order.save(
        update_fields=[
            "paid_at",
            "payment_reference",
            "status",
            "hold_expires_at",
            "updated_at",
        ]
    )
    _order_status_record(order=order)
    _units_sold_add(order=order, sign=1)
    _order_confirmed(order=order, email="paid")
    return order


@transaction.atomic
def order_hold_release(*, order: Order) -> bool:
    """
    Put a card order's held stock back: its payment failed, was cancelled or
    ran out of time. Exactly once: only an order still awaiting payment has
    a hold to release. True when this call released it.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.AWAITING_PAYMENT:
        return False
    _order_restock(order=order, sold=False)
    order.status = Order.Status.UNPAID
    order.hold_expires_at = None
    order.save(update_fields=["status", "hold_expires_at", "updated_at"])
    _order_status_record(order=order)
    return True


def order_holds_release_expired(*, now=None) -> int:
    """
    Release every hold past its expiry and stop its payment; returns how many.

    Run by the `payment_holds` periodic job. A payment that still succeeds
    is handled by order_payment_succeeded.
    """
    now = now or timezone.now()
    released = 0
    for order in Order.objects.holds_expired(now=now).order_by("pk"):
        if not order_hold_release(order=order):
            continue
        released += 1
        if order.payment_reference:
            _payment_cancel_quietly(order=order, method=order.payment_method)
    return released


def _order_refund(
    *,
    order: Order,
    amount: Decimal,
    reason: str = "",
    restock: dict[int, int] | None = None,
    by=None,
) -> Refund:
    # Called with the order row locked. The refund row is written first so
    # that its id keys the provider's idempotency; a provider error rolls
    # both back.
    refund = Refund.objects.create(
        order=order,
        amount=amount,
        currency=order.currency,
        reason=reason,
        created_by=by,
    )
    refund.reference = payment_provider(order.payment_method).refund(
        order=order, amount=amount, key=f"refund-{refund.pk}"
    )
    refund.save(update_fields=["reference"])
    if restock:
        _order_restock(order=order, sold=True, quantities=restock, refund=refund)

    def refunded():
        event_record(
            name="refund",
            order_id=order.pk,
            value=amount,
            currency=order.currency,
        )

    transaction.on_commit(refunded)
    order_email(order=order, kind="refunded")
    return refund


@transaction.atomic
def order_refund(
    *,
    order: Order,
    amount: Decimal,
    restock: dict[int, int] | None = None,
    reason: str = "",
    by=None,
) -> Refund:
    """
    Refund part or all of what an order was paid, through its provider.

    `restock` maps order line ids to the units to put back in stock; lines
    not named stay sold. Raises RefundError.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if amount <= 0:
        raise RefundError("A refund must be more than zero.")
    if amount > order.amount_refundable:
        raise RefundError(
            f"At most {order.amount_refundable} {order.currency} can be refunded."
        )
    lines = {line.pk: line for line in order.lines.all()}
    for line_id, quantity in (restock or {}).items():
        line = lines.get(line_id)
        if line is None or not 0 <= quantity <= line.quantity - line.quantity_restocked:
            raise RefundError("Restock no more units than the order line has left.")
    try:
        return _order_refund(
            order=order,
            amount=amount,
            reason=reason,
            restock={k: v for k, v in (restock or {}).items() if v},
            by=by,
        )
    except PaymentError as exc:
        raise RefundError(str(exc)) from exc


@transaction.atomic
def order_set_status(
    *,
    order: Order,
    status: str,
    carrier: str = "",
    tracking_number: str = "",
    by=None,
) -> Order:
    """
    Move an order to `status`, enforcing Order.TRANSITIONS.

    Cancelling refunds what was paid through the provider and restocks what
    is still out; shipping records the carrier and tracking number. The
    shopper is emailed on shipping and cancelling. Raises OrderStatusError.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not order.can_transition_to(status):
        raise OrderStatusError(
            f"An order that is {order.get_status_display().lower()} "
            f"cannot become {Order.Status(status).label.lower()}."
        )
    previous = order.status
    fields = ["status", "updated_at"]
    if status == Order.Status.CANCELLED:
        if order.amount_refundable > 0:
            try:
                _order_refund(
                    order=order,
                    amount=order.amount_refundable,
                    reason="Order cancelled.",
                    by=by,
                )
            except PaymentError as exc:
                raise OrderStatusError(f"The refund failed: {exc}") from exc
        _order_restock(order=order, sold=previous != Order.Status.AWAITING_PAYMENT)
        if previous == Order.Status.AWAITING_PAYMENT and order.payment_reference:
            transaction.on_commit(
                lambda: _payment_cancel_quietly(
                    order=order, method=order.payment_method
                )
            )
        order_email(order=order, kind="cancelled")
    elif status == Order.Status.PAID:
        order.paid_at = timezone.now()
        fields.append("paid_at")
    elif status == Order.Status.SHIPPED:
        if carrier and carrier not in settings.SHOP_CARRIERS:
            raise OrderStatusError(f"Unknown carrier {carrier!r}.")
        order.carrier, order.tracking_number = carrier, tracking_number.strip()
        fields += ["carrier", "tracking_number"]
        order_email(order=order, kind="shipped")
    order.status = status
    order.save(update_fields=fields)
    _order_status_record(order=order)
    return order


def _order_status_record(*, order: Order) -> None:
    """Add the order's status, as it is now, to its history."""
    OrderStatusChange.objects.create(order=order, status=order.status)


def order_cancel(*, order: Order, by=None) -> Order:
    return order_set_status(order=order, status=Order.Status.CANCELLED, by=by)


def _payment_cancel_quietly(*, order: Order, method: str) -> None:
    """Stop an order's card payment; a failure is logged, never raised."""
    try:
        payment_provider(method).payment_cancel(reference=order.payment_reference)
    except (PaymentError, KeyError):
        logger.warning("Could not cancel the payment of %s", order.number)


def _order_restock(
    *,
    order: Order,
    sold: bool,
    quantities: dict[int, int] | None = None,
    refund: Refund | None = None,
) -> None:
    """
    Put units of the order back in stock, each unit at most once.

    `quantities` maps line ids to units (default: every unit still out).
    `sold` says whether they counted as sold (and leave `units_sold`). Called
    with the order row locked.
    """
    lines = sorted(
        (line for line in order.lines.all() if line.variant_id),
        key=lambda line: line.variant_id,
    )
    changed = []
    for line in lines:
        out = line.quantity - line.quantity_restocked
        units = out if quantities is None else min(quantities.get(line.pk, 0), out)
        if units <= 0:
            continue
        ProductVariant.objects.filter(pk=line.variant_id, track_inventory=True).update(
            stock=F("stock") + units
        )
        OrderLine.objects.filter(pk=line.pk).update(
            quantity_restocked=F("quantity_restocked") + units
        )
        if sold:
            Product.objects.filter(pk=line.product_id, units_sold__gte=units).update(
                units_sold=F("units_sold") - units
            )
        if refund is not None:
            RefundLine.objects.create(refund=refund, order_line=line, quantity=units)
        if line.product_id:
            changed.append(line.product_id)
    if changed:
        transaction.on_commit(lambda: _stock_changed(changed=changed))


def orders_attach_guest(*, user) -> int:
    """Tie guest orders placed with the user's (verified) email to them."""
    return Order.objects.filter(user__isnull=True, email__iexact=user.email).update(
        user=user
    )


def tables_analyze(*, models) -> None:
    """
    Refresh PostgreSQL's statistics of the tables of `models` after a bulk
    load, so the planner sees their new size at once instead of at
    autovacuum's next pass (a no-op on other databases).
    """
    if connection.vendor != "postgresql":
        return
    tables = sorted({model._meta.db_table for model in models})
    if not tables:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables)
        )
