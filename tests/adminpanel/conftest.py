import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from adminpanel.customer_stats import customer_stats_refresh
from adminpanel.forms import range_for_preset
from adminpanel.rollups import daily_rollups_build
from analytics.models import HourlyRollup
from config.days import local_date, shop_zone
from shop.models import Cart, Order
from tests.factories import (
    CategoryFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
    VariantFactory,
)

from .factories import (
    CartFactory,
    CartLineFactory,
    EventFactory,
    RollupFactory,
    SessionFactory,
)

CHANNELS = ["direct", "organic", "paid", "email", "social"]
DEVICES = ["desktop", "mobile", "tablet"]
STATUSES = ["paid", "shipped", "delivered", "pending", "cancelled", "paid"]


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=shop_zone())


@pytest.fixture
def today():
    return local_date(timezone.now())


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(email="staff@example.com", is_staff=True))
    return client


@pytest.fixture
def shopper_client(client, db):
    client.force_login(UserFactory(email="shopper@example.com"))
    return client


@pytest.fixture
def shop_data(db, today):
    """
    A small shop spread over the last 30 days: orders from repeat and new
    customers in every status, sessions from several channels and devices
    (some bots), funnel and search events, rollups and carts.
    """
    return build_shop(today=today, scale=1)


def build_shop(*, today: dt.date, scale: int = 1) -> dict:
    shoes = CategoryFactory(name="Shoes", slug=f"shoes-{scale}")
    hats = CategoryFactory(name="Hats", slug=f"hats-{scale}")
    products = [
        ProductFactory(category=shoes, name=f"Runner {scale}"),
        ProductFactory(category=hats, name=f"Cap {scale}"),
        ProductFactory(category=shoes, name=f"Boot {scale}"),
    ]
    variants = [
        VariantFactory(product=products[0], price=Decimal("50.00"), stock=20),
        VariantFactory(product=products[1], price=Decimal("15.50"), stock=3),
        VariantFactory(product=products[2], price=Decimal("80.00"), stock=0),
    ]
    orders = []
    # Some customers are signed in: their orders feed the customer statistics.
    users = {
        n: UserFactory(email=f"customer{n}-{scale}@example.com") for n in range(0, 9, 2)
    }
    for i in range(30 * scale):
        day = today - dt.timedelta(days=i % 25)
        variant = variants[i % 2]
        quantity = 1 + i % 3
        subtotal = variant.price * quantity
        order = OrderFactory(
            email=f"customer{i % 9}-{scale}@example.com",
            status=STATUSES[i % len(STATUSES)],
            subtotal=subtotal,
            shipping_cost=Decimal("4.95"),
            total=subtotal + Decimal("4.95"),
            created_at=local(day, (7 + i * 5) % 24, i % 60),
            user=users.get(i % 9),
        )
        OrderLineFactory(
            order=order,
            product=variant.product,
            variant=variant,
            product_name=variant.product.name,
            unit_price=variant.price,
            quantity=quantity,
            line_total=subtotal,
        )
        orders.append(order)

    rollups = Counter()
    for i in range(45 * scale):
        day = today - dt.timedelta(days=i % 20)
        started = local(day, (i * 7) % 24, (i * 13) % 50)
        bot = i % 9 == 8
        session = SessionFactory(
            session_id=f"sess-{scale}-{i}",
            visitor_id=f"visitor-{scale}-{i % 28}",
            started_at=started,
            ended_at=started + dt.timedelta(minutes=5),
            channel=CHANNELS[i % len(CHANNELS)],
            device=DEVICES[i % len(DEVICES)],
            browser=["Firefox", "Chrome", "Safari"][i % 3],
            country=["GB", "FR", "DE", ""][i % 4],
            landing_path=["/", "/c/shoes/", "/p/runner/"][i % 3],
            referrer=["", "https://www.google.com/", "https://news.example/"][i % 3],
            campaign="spring-sale" if i % 5 == 2 else "",
            is_bot=bot,
            converted=i % 4 == 0,
            revenue=Decimal("54.95") if i % 4 == 0 else Decimal("0"),
        )
        steps = ["page_view"]
        # Half the searches come before the session's other steps (and its
        # purchase, if any), half after.
        if i % 10 == 0:
            steps.append("search")
        if i % 2 == 0:
            steps.append("product_view")
        if i % 3 == 0:
            steps.append("add_to_cart")
        if i % 4 == 0:
            # Every other buyer pays by card; the rest, cash on delivery.
            card = ["payment_started"] if i % 8 == 0 else []
            steps += ["begin_checkout", *card, "purchase"]
        elif i % 6 == 2:
            steps += ["begin_checkout", "payment_started"]  # a card not paid
        if i % 10 == 5:
            steps.append("search")
        for n, name in enumerate(steps):
            product = (
                products[i % 3] if name in {"product_view", "add_to_cart"} else None
            )
            at = started + dt.timedelta(minutes=n)
            properties = {}
            if name == "search":
                query = ["Shoes", "red hat", "=cmd|' /C calc'!A0", "boots"][i % 4]
                properties = {"query": query, "results": 0 if i % 3 == 0 else 4}
            EventFactory(
                name=name,
                occurred_at=at,
                session_id=session.session_id,
                visitor_id=session.visitor_id,
                device=session.device,
                path=session.landing_path,
                product_id=product.pk if product else None,
                is_bot=bot,
                properties=properties,
                value=Decimal("54.95") if name == "purchase" else None,
            )
            if bot:
                continue
            hour = at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
            if name == "page_view":
                rollups[(hour, "page_views", "all", "")] += 1
                rollups[(hour, "page_views", "page", session.landing_path)] += 1
            if product is not None:
                metric = "product_views" if name == "product_view" else "add_to_carts"
                rollups[(hour, metric, "product", str(product.pk))] += 1
    for (hour, metric, dimension, key), value in rollups.items():
        cell = HourlyRollup.objects.filter(
            hour=hour, metric=metric, dimension=dimension, key=key
        )
        if not cell.update(value=F("value") + value):
            RollupFactory(
                hour=hour, metric=metric, dimension=dimension, key=key, value=value
            )

    now = timezone.now()
    abandoned = CartLineFactory(variant=variants[0], quantity=2).cart
    CartLineFactory(cart=abandoned, variant=variants[1], quantity=1)
    fresh = CartLineFactory(variant=variants[0], quantity=1).cart
    empty = CartFactory()
    Cart.objects.filter(pk=abandoned.pk).update(updated_at=now - dt.timedelta(days=2))
    Cart.objects.filter(pk=fresh.pk).update(updated_at=now - dt.timedelta(hours=1))
    Cart.objects.filter(pk=empty.pk).update(updated_at=now - dt.timedelta(days=3))
    # The dashboards read the daily rollups and customer statistics that the
    # periodic jobs keep; build them as those jobs would.
    daily_rollups_build(first=today - dt.timedelta(days=120), last=today)
    customer_stats_refresh()
    return {
        "products": products,
        "variants": variants,
        "orders": orders,
        "carts": {"abandoned": abandoned, "fresh": fresh, "empty": empty},
    }


@pytest.fixture
def week(today):
    return range_for_preset("7d", today=today)


@pytest.fixture
def month(today):
    return range_for_preset("30d", today=today)


def placed(orders, start, end):
    return [
        o
        for o in Order.objects.all()
        if start <= o.created_at < end and o.status != Order.Status.CANCELLED
    ]
