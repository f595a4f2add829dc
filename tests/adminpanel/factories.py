import uuid
from decimal import Decimal

import factory
from django.utils import timezone

from analytics.models import Event, HourlyRollup, SessionSummary
from shop.models import Cart, CartLine


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    event_id = factory.LazyFunction(uuid.uuid4)
    name = "page_view"
    occurred_at = factory.LazyFunction(timezone.now)
    visitor_id = factory.Sequence(lambda n: f"v{n}")
    session_id = factory.Sequence(lambda n: f"s{n}")
    path = "/"
    device = "desktop"
    browser = "Firefox"
    country = "GB"


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SessionSummary

    session_id = factory.Sequence(lambda n: f"s{n}")
    visitor_id = factory.Sequence(lambda n: f"v{n}")
    started_at = factory.LazyFunction(timezone.now)
    ended_at = factory.LazyAttribute(lambda o: o.started_at)
    landing_path = "/"
    exit_path = "/"
    page_views = 1
    events = 1
    channel = "direct"
    device = "desktop"
    browser = "Firefox"
    country = "GB"
    revenue = Decimal("0")


class RollupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HourlyRollup

    hour = factory.LazyFunction(
        lambda: timezone.now().replace(minute=0, second=0, microsecond=0)
    )
    metric = "page_views"
    dimension = "all"
    key = ""
    value = Decimal("1")


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    session_key = factory.Sequence(lambda n: f"cart-session-{n}")


class CartLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartLine

    cart = factory.SubFactory(CartFactory)
    quantity = 1
