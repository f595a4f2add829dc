import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import address_default
from accounts.services import signin_failed, signin_throttle
from analytics.services import event_record
from config.net import client_ip

from . import selectors, services
from .cache import catalogue_cached, catalogue_version, stock_version
from .forms import (
    AddToCartForm,
    CartLineForm,
    CheckoutForm,
    ListingForm,
    OrderLookupForm,
)
from .models import CartLine, Order, Product, ProductVariant
from .pagecache import catalogue_page, page_query
from .payments import PaymentError, payment_providers
from .sessions import (
    cart_count_note,
    session_cart,
    session_cart_add,
    session_key_ensure,
)
from .stripe_gateway import WebhookRejected, stripe_event_verify

# The query parameters a listing page reads (ListingForm's and the page
# number): its cached page is keyed on these alone.
LISTING_PARAMS = ("sort", "min_price", "max_price", "in_stock", "page")
SEARCH_PARAMS = ("q", *LISTING_PARAMS)


def _page_number(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), 10_000))
    except ValueError:
        return 1


def _cart(request, *, create: bool = False):
    if request.user.is_authenticated:
        return services.cart_get(user=request.user, create=create)
    return session_cart(request.session, create=create)


@require_GET
def home(request):
    version = catalogue_version()

    def context():
        sections = catalogue_cached("home", selectors.home_sections, version=version)
        return {**sections, "catalogue_version": version}

    return catalogue_page(
        request, "shop/home.html", context, key="home", version=version
    )


@require_GET
def category(request, slug):
    version = catalogue_version()
    place = catalogue_cached(
        f"category:{slug}",
        lambda: selectors.category_place(slug=slug),
        version=version,
    )
    if place is None:
        raise Http404("No such category.")
    category = place.category

    def context():
        # Parsed only when the page is rendered: a cached page is keyed on
        # the full URL already.
        form = ListingForm(request.GET)
        filters = form.filters()
        page = _page_number(request)
        cache_key = f"{category.pk}:{filters.cache_key()}:{page}"
        listing = catalogue_cached(
            f"listing:{cache_key}",
            lambda: selectors.category_listing(
                category=category, filters=filters, page=page, subtree=place.subtree
            ),
            version=version,
        )
        return {
            "breadcrumbs": place.breadcrumbs,
            "subcategories": place.subcategories,
            "category": category,
            "listing": listing,
            "form": form,
            "filters": filters,
            "catalogue_version": version,
            "cache_key": cache_key,
        }

    return catalogue_page(
        request,
        "shop/category.html",
        context,
        key=f"category:{category.pk}",
        version=version,
        params=LISTING_PARAMS,
    )


@require_GET
def product(request, slug):
    version = catalogue_version()
    # Only the id on the hot path; the full product is loaded to render.
    product_id = catalogue_cached(
        f"product-id:{slug}",
        lambda: (
            Product.objects.available()
            .filter(slug=slug)
            .values_list("pk", flat=True)
            .first()
            or 0
        ),
        version=version,
    )
    if not product_id:
        raise Http404("No such product.")
    event_record(name="product_view", product_id=product_id)
    # Orders move stock without touching the catalogue version; they bump
    # this product's stock counter instead, which keys the cached page.
    stock = stock_version(product_id)

    def context():
        product = selectors.product_detail(slug=slug)
        variants = list(
            ProductVariant.objects.filter(product=product).order_by("position", "id")
        )
        return {
            "product": product,
            "variants": variants,
            "images": list(product.images.all()),
            "related": selectors.product_related(product=product),
            "breadcrumbs": product.category.ancestors(),
            "form": AddToCartForm(
                initial={"variant": variants[0].pk if variants else None}
            ),
        }

    return catalogue_page(
        request,
        "shop/product.html",
        context,
        key=f"product:{product_id}:{stock}",
        cacheable=stock >= 0,
        version=version,
    )


@require_GET
def search(request):
    query = request.GET.get("q", "")[:200].replace("\x00", "").strip()
    version = catalogue_version()
    form = filters = page = results = None

    def listing():
        # Once per request: the count and the page both read it.
        nonlocal form, filters, page, results
        if results is None:
            form = ListingForm(request.GET)
            filters = form.filters()
            page = _page_number(request)
            results = catalogue_cached(
                f"search:{query.lower()}:{filters.cache_key()}:{page}",
                lambda: selectors.product_search(
                    query=query, filters=filters, page=page
                ),
                version=version,
            )
        return results

    if query:
        # The count alone is cached by what the page reads, so a cached page
        # needs no listing.
        count = catalogue_cached(
            f"search-count:{page_query(request, SEARCH_PARAMS)}",
            lambda: listing().count,
            version=version,
        )
        event_record(name="search", properties={"query": query, "results": count})

    def context():
        results = listing()
        suggestions = []
        if query and not results.count:
            suggestions = catalogue_cached(
                "home", selectors.home_sections, version=version
            )["top_categories"]
        return {
            "query": query,
            "listing": results,
            "form": form,
            "suggestions": suggestions,
            "catalogue_version": version,
            "cache_key": f"{query}:{filters.cache_key()}:{page}",
        }

    return catalogue_page(
        request,
        "shop/search.html",
        context,
        key="search",
        version=version,
        params=SEARCH_PARAMS,
    )


@require_GET
def cart_detail(request):
    cart = _cart(request)
    context = selectors.cart_detail(cart=cart)
    cart_count_note(request, context["count"])  # the header's, with no query
    return render(request, "shop/cart.html", {**context, "line_form": CartLineForm()})


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        variant = (
            ProductVariant.objects.filter(pk=form.cleaned_data.get("variant") or 0)
            .select_related("product")
            .first()
        )
        return redirect(variant.product if variant else "shop:cart")
    variant = get_object_or_404(
        ProductVariant.objects.select_related("product"),
        pk=form.cleaned_data["variant"],
    )
    quantity = form.cleaned_data["quantity"]
    try:
        if request.user.is_authenticated:
            cart = services.cart_get(user=request.user, create=True)
            added = services.cart_add(cart=cart, variant=variant, quantity=quantity)
        else:
            added = session_cart_add(
                request.session, variant=variant, quantity=quantity
            )
    except services.CartError as exc:
        messages.error(request, str(exc))
        return redirect(variant.product)
    cart_count_note(request, added.cart_count)
    messages.success(request, f"Added {variant} to your cart.")
    return redirect("shop:cart")


@require_POST
def cart_update(request, line_id):
    cart = _cart(request)
    if cart is None:
        raise Http404("No cart.")
    form = CartLineForm(request.POST)
    if not form.is_valid():
        for error in form.errors["quantity"]:
            messages.error(request, error)
        return redirect("shop:cart")
    try:
        services.cart_set_quantity(
            cart=cart, line_id=line_id, quantity=form.cleaned_data["quantity"]
        )
    except CartLine.DoesNotExist:
        raise Http404("No such cart line.") from None
    except services.CartError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your cart was updated.")
    return redirect("shop:cart")


@require_POST
def cart_remove(request, line_id):
    cart = _cart(request)
    if cart is None:
        raise Http404("No cart.")
    try:
        services.cart_remove(cart=cart, line_id=line_id)
    except CartLine.DoesNotExist:
        raise Http404("No such cart line.") from None
    messages.success(request, "The item was removed from your cart.")
    return redirect("shop:cart")


def _payment_choices():
    return [(provider.code, provider.label) for provider in payment_providers()]


def _placed_order(request):
    """The order this checkout form's token already placed, if any."""
    if request.method != "POST":
        return None
    return selectors.order_for_checkout_token(
        # NUL would make PostgreSQL refuse the query; no token holds one.
        token=request.POST.get("checkout_token", "")[:64].replace("\x00", ""),
        user=request.user,
        session_key=request.session.session_key,
    )


def checkout(request):
    # A resubmitted form (reload, back and submit) shows the order it
    # already placed, even though the cart is now empty.
    placed = _placed_order(request)
    if placed is not None:
        return redirect(placed)
    cart = _cart(request)
    summary = selectors.cart_detail(cart=cart)
    if not summary["lines"]:
        # The same form posted at once (a double click, a retry) may have
        # placed the order, and emptied the cart, since the check above.
        placed = _placed_order(request)
        if placed is not None:
            return redirect(placed)
        messages.info(request, "Your cart is empty.")
        return redirect("shop:cart")
    if request.method == "POST":
        form = CheckoutForm(request.POST, payment_choices=_payment_choices())
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "checkout_token"}
            try:
                order = services.order_place(
                    cart=cart,
                    details=services.CheckoutDetails(**data),
                    checkout_token=form.cleaned_data["checkout_token"],
                    user=request.user,
                    session_key=session_key_ensure(request.session),
                )
            except services.CheckoutError as exc:
                placed = _placed_order(request)  # by a parallel post, as above
                if placed is not None:
                    return redirect(placed)
                for problem in exc.problems:
                    messages.error(request, problem)
                return redirect("shop:cart")
            request.session["last_order"] = order.number
            if order.awaiting_payment:
                return redirect("shop:order_pay", number=order.number)
            return redirect(order)
    else:
        initial = {"checkout_token": secrets.token_urlsafe(24)}
        if request.user.is_authenticated:
            initial.update(email=request.user.email, full_name=request.user.name)
            initial.update(address_default(user=request.user))
        form = CheckoutForm(initial=initial, payment_choices=_payment_choices())
        event_record(
            name="begin_checkout",
            value=summary["subtotal"],
            currency=settings.SHOP_CURRENCY,
            properties={"items": summary["count"]},
        )
    problems = services.cart_problems(cart=cart)
    return render(
        request,
        "shop/checkout.html",
        {
            **summary,
            "form": form,
            "problems": problems,
            "card_payments": any(p.holds_stock for p in payment_providers()),
        },
    )


def _viewed_order(request, number) -> Order:
    try:
        return selectors.order_for_viewer(
            number=number,
            user=request.user,
            session_key=request.session.session_key,
            granted=request.session.get("orders_granted", []),
        )
    except Order.DoesNotExist:
        raise Http404("No such order.") from None


def _stripe_csp_sources() -> dict[str, list[str]]:
    """Stripe's documented origins for Stripe.js (or the stand-in's)."""
    js = _origin(settings.STRIPE_JS_URL)
    api = _origin(settings.STRIPE_API_BASE)
    if js == "https://js.stripe.com":
        return {
            "script-src": ["https://js.stripe.com", "https://*.js.stripe.com"],
            "frame-src": [
                "https://js.stripe.com",
                "https://*.js.stripe.com",
                "https://hooks.stripe.com",
            ],
            "connect-src": ["https://api.stripe.com"],
        }
    return {"script-src": [js], "frame-src": [js], "connect-src": [api]}


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


@never_cache
@require_GET
def order_pay(request, number):
    """The payment step of a card order: Stripe's Payment Element."""
    order = _viewed_order(request, number)
    if not order.awaiting_payment:
        return redirect(order)
    try:
        session = services.order_payment_start(order=order)
    except PaymentError:
        messages.error(
            request,
            "Card payments are unavailable just now. Try again in a moment, "
            "or pay cash on delivery.",
        )
        session = None
    response = render(
        request,
        "shop/order_pay.html",
        {
            "order": order,
            "lines": list(order.lines.all()),
            "session": session,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "stripe_js_url": settings.STRIPE_JS_URL,
            "return_url": request.build_absolute_uri(
                reverse("shop:order_pay_return", kwargs={"number": order.number})
            ),
        },
    )
    # Only this page loads Stripe.js; config.middleware adds these origins.
    response.csp_sources = _stripe_csp_sources()
    return response


@never_cache
@require_GET
def order_pay_return(request, number):
    """
    Where Stripe sends the shopper back. Its query string is not trusted:
    the order's payment is retrieved from Stripe, server to server.
    """
    order = _viewed_order(request, number)
    try:
        order = services.order_payment_sync(order=order)
    except PaymentError:
        messages.info(request, "We are confirming your payment; check back shortly.")
        return redirect(order)
    if order.awaiting_payment:
        messages.error(request, "Your payment did not go through. Please try again.")
        return redirect("shop:order_pay", number=order.number)
    if order.status == Order.Status.UNPAID:
        messages.error(
            request,
            "Your payment did not go through and the items were released. "
            "Please place the order again.",
        )
    return redirect(order)


@require_POST
def order_pay_on_delivery(request, number):
    """Pay cash on delivery instead (no JavaScript, or a change of mind)."""
    order = _viewed_order(request, number)
    try:
        services.order_pay_on_delivery(order=order)
    except services.OrderStatusError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "You will pay cash on delivery.")
    return redirect(order)


# Stripe calls this server to server: it has no session or CSRF token, and
# each request proves itself by its signature instead.
@csrf_exempt
@require_POST
def stripe_webhook(request):
    try:
        event = stripe_event_verify(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
        )
    except WebhookRejected:
        return HttpResponseBadRequest("Invalid signature.")
    services.payment_event_handle(
        provider="stripe", event_id=event.id, type=event.type, update=event.update
    )
    return HttpResponse(status=200)


def order_detail(request, number):
    order = _viewed_order(request, number)
    # Thanks once, right after placing (after paying, for a card order); any
    # later visit shows the status and its history instead.
    just_placed = (
        request.session.get("last_order") == order.number and not order.awaiting_payment
    )
    if just_placed:
        del request.session["last_order"]
    return render(
        request,
        "shop/order_detail.html",
        {
            "order": order,
            "lines": list(order.lines.all()),
            "just_placed": just_placed,
            "history": order.status_history(),
        },
    )


@login_required
@never_cache
@require_GET
def order_history(request):
    return render(
        request,
        "shop/order_history.html",
        {"orders": list(selectors.order_history(user=request.user)[:100])},
    )


def order_lookup(request):
    """Guests find an order by its number and the email it was placed with."""
    form = OrderLookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The sign-in limiter: guessing an order's email is guessing an
        # account's (the JSON API's lookup shares it).
        throttle = signin_throttle(
            ip=client_ip(request), email=form.cleaned_data["email"]
        )
        if throttle.blocked:
            response = render(
                request,
                "shop/order_lookup.html",
                {"form": form, "throttled": True},
                status=429,
            )
            response["Retry-After"] = str(throttle.retry_after)
            return response
        order = selectors.order_lookup(
            number=form.cleaned_data["number"], email=form.cleaned_data["email"]
        )
        if order is not None:
            granted = request.session.get("orders_granted", [])
            request.session["orders_granted"] = [*granted[-19:], order.number]
            return redirect(order)
        signin_failed(ip=client_ip(request), email=form.cleaned_data["email"])
        form.add_error(None, "We could not find an order with that number and email.")
    return render(request, "shop/order_lookup.html", {"form": form})


@require_GET
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /cart/",
        "Disallow: /checkout/",
        "Disallow: /orders/",
        "Disallow: /accounts/",
        "Disallow: /dashboard/",
        "Disallow: /admin/",
        "Disallow: /analytics/",
        f"Sitemap: {request.build_absolute_uri(reverse('shop:sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


def permission_denied(request, exception):
    return render(request, "403.html", status=403)


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
