"""Orders: the signed-in customer's orders, one order, and a guest's lookup."""

from django.conf import settings
from ninja import Path, Query, Router

from accounts.services import signin_failed, signin_throttle
from config.net import client_ip
from config.problems import AUTH, READ, Problem, ProblemOut, form_problem
from shop import selectors
from shop.forms import OrderLookupForm
from shop.models import Order

from .auth import ANYONE, SIGNED_IN
from .http import cursor_decode, cursor_encode
from .schemas import OrderLineOut, OrderLookupIn, OrderOut, OrderPage, OrderSummary

router = Router(tags=["orders"])

ORDERS_PAGE_SIZE = 20
NUMBER = r"^[A-Za-z0-9-]{1,20}$"
# The session entry of orders a number-and-email lookup granted (as the page).
GRANTED = "orders_granted"


def order_out(order: Order) -> OrderOut:
    return OrderOut(
        number=order.number,
        status=order.status,
        created_at=order.created_at,
        email=order.email,
        address_lines=order.address_lines,
        shipping_method=order.shipping_method,
        payment_method=order.payment_method,
        currency=order.currency,
        subtotal=order.subtotal,
        shipping_cost=order.shipping_cost,
        total=order.total,
        can_cancel=order.can_cancel,
        lines=[
            OrderLineOut(
                product_slug=line.product.slug if line.product else None,
                product_name=line.product_name,
                sku=line.sku,
                options={str(k): str(v) for k, v in line.options.items()},
                unit_price=line.unit_price,
                quantity=line.quantity,
                line_total=line.line_total,
            )
            for line in order.lines.select_related("product")
        ],
    )


def _session(request):
    """The browser session, when the caller is one (never for Bearer calls)."""
    if request.auth.via == "bearer":
        return None
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None
    return request.session


@router.get(
    "",
    response={200: OrderPage, **AUTH},
    auth=SIGNED_IN,
    summary="The signed-in customer's orders, newest first",
)
def orders(request, cursor: str | None = Query(None, max_length=40)):
    page = cursor_decode(cursor)
    start = (page - 1) * ORDERS_PAGE_SIZE
    # One row more than a page says whether another page follows.
    rows = list(
        selectors.order_history(user=request.auth.user)[
            start : start + ORDERS_PAGE_SIZE + 1
        ]
    )
    return OrderPage(
        items=[
            OrderSummary(
                number=o.number,
                status=o.status,
                created_at=o.created_at,
                total=o.total,
                currency=o.currency,
                item_count=o.item_count,
            )
            for o in rows[:ORDERS_PAGE_SIZE]
        ],
        next_cursor=cursor_encode(page + 1) if len(rows) > ORDERS_PAGE_SIZE else None,
    )


@router.post(
    "/lookup",
    response={200: OrderOut, **READ, **AUTH, 429: ProblemOut},
    auth=ANYONE,
    summary="A guest finds an order by its number and email (rate-limited)",
)
def lookup(request, payload: OrderLookupIn):
    form = OrderLookupForm(payload.model_dump())
    if not form.is_valid():
        raise form_problem(form)
    # The sign-in limiter: guessing an order's email is guessing an account's.
    throttle = signin_throttle(ip=client_ip(request), email=form.cleaned_data["email"])
    if throttle.blocked:
        raise Problem(
            "rate-limited",
            "Too many lookups. Wait a little and try again.",
            headers={"Retry-After": str(throttle.retry_after)},
        )
    found = selectors.order_lookup(
        number=form.cleaned_data["number"], email=form.cleaned_data["email"]
    )
    if found is None:
        signin_failed(ip=client_ip(request), email=form.cleaned_data["email"])
        raise Problem(
            "not-found", "We could not find an order with that number and email."
        )
    session = _session(request)
    if session is not None:
        session[GRANTED] = [*session.get(GRANTED, [])[-19:], found.number]
    return order_out(found)


# After /lookup: a number pattern would match that path too.
@router.get(
    "/{number}",
    response={200: OrderOut, **READ, **AUTH},
    auth=ANYONE,
    summary="One order: the customer's own, or a guest's in the same session",
)
def order(request, number: str = Path(..., pattern=NUMBER)):
    session = _session(request)
    try:
        found = selectors.order_for_viewer(
            number=number,
            user=request.auth.user,
            session_key=session.session_key if session is not None else None,
            granted=session.get(GRANTED, []) if session is not None else [],
        )
    except Order.DoesNotExist:
        raise Problem("not-found", "No such order.") from None
    return order_out(found)
