"""
Demo clickstream for `seed_demo`: realistic sessions over the last N days.

Several channels and devices, funnels that convert at plausible rates
(about 2-4% of human sessions buy), bots (about 6% of sessions, flagged),
and late client events whose client time is well before their arrival.
Fast: rows stream into PostgreSQL with COPY (bulk_create on SQLite).

Idempotent: every generated visitor and session ID starts with "demo-",
and a run first deletes the rows an earlier run generated. Event IDs derive
from the seed, so the same arguments give the same events.
"""

import json
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from config.days import shop_zone

from .models import Event, SessionSummary
from .sinks import COLUMNS, events_copy

CHANNELS = [
    # channel, weight, source, medium, campaign, referrer, conversion lift
    ("direct", 28, "", "", "", "", 1.1),
    ("organic", 30, "", "", "", "https://www.google.com/", 1.0),
    ("paid", 15, "google", "cpc", "spring-sale", "https://www.google.com/", 0.9),
    ("social", 11, "instagram", "social", "new-in", "https://www.instagram.com/", 0.5),
    ("email", 9, "newsletter", "email", "weekly-picks", "", 1.8),
    ("referral", 7, "", "", "", "https://blog.example.org/gift-guide", 0.8),
]
CHANNEL_WEIGHTS = [c[1] for c in CHANNELS]
BOT_CHANNEL = ("direct", 0, "", "", "", "", 0)
DEVICES = [
    ("desktop", 48, "Chrome", "Windows", "1440x900"),
    ("desktop", 10, "Safari", "Mac OS X", "1512x982"),
    ("mobile", 26, "Mobile Safari", "iOS", "390x844"),
    ("mobile", 10, "Chrome Mobile", "Android", "412x915"),
    ("tablet", 6, "Mobile Safari", "iOS", "820x1180"),
]
DEVICE_WEIGHTS = [d[1] for d in DEVICES]
BOTS = [("bot", 1, "Googlebot", "Other", ""), ("bot", 1, "HeadlessChrome", "Linux", "")]
COUNTRIES = ["GB"] * 14 + ["IE", "FR", "DE", "NL", "US", "ES"]
LANGUAGES = ["en-GB"] * 6 + ["en-US", "fr-FR", "de-DE", "nl-NL"]
# Relative traffic per local hour: quiet nights, lunch and evening peaks.
HOURLY = [
    2,
    1,
    1,
    1,
    1,
    2,
    4,
    6,
    8,
    9,
    9,
    10,
    11,
    10,
    9,
    9,
    10,
    11,
    13,
    14,
    13,
    10,
    6,
    3,
]
# Rows held before a write: one COPY or bulk insert each.
CHUNK_ROWS = 50_000
STATIC_PAGES = ["/", "/cart/", "/search/?q=mug", "/search/?q=linen", "/search/?q=lamp"]


class DemoProduct(NamedTuple):
    """What the demo clickstream needs to know of one product variant."""

    product_id: int
    slug: str
    variant_id: int
    price: Decimal


class _Run(NamedTuple):
    """What every visit of one generation shares."""

    rng: random.Random
    seed: int
    visitors: int
    days: int
    start: datetime
    now: datetime
    zone: ZoneInfo
    currency: str


class _Visit:
    """
    One demo session: its visitor, traffic source, device and start time are
    drawn on creation; each event it records is appended as a row to `out`.
    """

    def __init__(self, *, run: _Run, number: int, out: list[tuple]):
        rng = self.rng = run.rng
        self.run, self.number, self.out = run, number, out
        self.is_bot = rng.random() < 0.06
        channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        device = (
            rng.choice(BOTS)
            if self.is_bot
            else rng.choices(DEVICES, weights=DEVICE_WEIGHTS)[0]
        )
        if self.is_bot:
            channel = BOT_CHANNEL
        (
            self.channel,
            _,
            self.source,
            self.medium,
            self.campaign,
            self.referrer,
            self.lift,
        ) = channel
        self.visitor = f"demo-v{run.seed}-{rng.randrange(run.visitors)}"
        self.session = f"demo-s{run.seed}-{number}"
        self.at = self._start_draw()
        self.country = rng.choice(COUNTRIES)
        self.language = rng.choice(LANGUAGES)
        self.device, _, self.browser, self.os, self.viewport = device
        self.first_ref = self.referrer

    def _start_draw(self) -> datetime:
        """A start on a random day, at a local hour weighted like real traffic."""
        run, rng = self.run, self.rng
        day = rng.randrange(run.days)
        hour = rng.choices(range(24), weights=HOURLY)[0]
        local = (
            (run.start + timedelta(days=day))
            .astimezone(run.zone)
            .replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        )
        if local.hour == 23 and local.minute > 20:  # sessions end by midnight
            local -= timedelta(minutes=40)
        at = local.astimezone(UTC)
        if at > run.now - timedelta(minutes=40):
            at = run.now - timedelta(minutes=rng.randrange(40, 600))
        return at

    def event(
        self,
        *,
        name: str,
        path: str,
        route: str,
        product: int | None = None,
        variant: int | None = None,
        order: int | None = None,
        value: str | None = None,
        props: dict | None = None,
        client: bool = False,
        late: bool = False,
    ) -> None:
        """Record an event a few seconds after the last one."""
        rng = self.rng
        self.at += timedelta(seconds=rng.randint(3, 90))
        client_time = None
        if client:
            client_time = self.at - (
                timedelta(minutes=rng.randint(10, 600))
                if late
                else timedelta(seconds=1)
            )
        self.out.append(
            (
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                name,
                self.at.isoformat(),
                client_time.isoformat() if client_time else None,
                self.visitor,
                self.session,
                None,  # demo visitors never sign in
                path,
                route,
                self.first_ref,
                self.source,
                self.medium,
                self.campaign,
                "",
                "",
                self.channel,
                product,
                variant,
                order,
                value,
                self.run.currency if value is not None else "",
                self.device,
                self.browser,
                self.os,
                self.language,
                self.viewport if client else "",
                self.country,
                200 if name == "page_view" else None,
                rng.randint(8, 120) if name == "page_view" else None,
                self.is_bot,
                json.dumps(props or {}),
            )
        )
        self.first_ref = self.referrer if name != "page_view" else ""

    def browse(self, *, products: Sequence[DemoProduct]) -> None:
        """Land on a page, then view a few products (bots, many more)."""
        rng = self.rng
        self.views = 1 + int(rng.expovariate(1 / (12 if self.is_bot else 3)))
        self.landing = rng.choice(STATIC_PAGES[:1] * 3 + STATIC_PAGES)
        self.product = rng.choice(products)
        route = "shop:home" if self.landing == "/" else "shop:search"
        self.event(name="page_view", path=self.landing, route=route)
        for _ in range(self.views - 1):
            self.product = rng.choice(products)
            path = f"/p/{self.product.slug}/"
            self.event(name="page_view", path=path, route="shop:product")
            self.event(
                name="product_view",
                path=path,
                route="shop:product",
                product=self.product.product_id,
            )
            if not self.is_bot and rng.random() < 0.5:
                self.event(
                    name="scroll",
                    path=path,
                    route="shop:product",
                    props={"depth": rng.choice([25, 50, 75, 100])},
                    client=True,
                    late=rng.random() < 0.03,
                )

    def shop(self, *, orders: Sequence[tuple[int, Decimal]]) -> None:
        """Perhaps put the last product viewed in the cart, check out and buy."""
        rng, product = self.rng, self.product
        p_cart = 0.18 * self.lift * (0.8 if self.device == "mobile" else 1.0)
        if not (self.views > 1 and rng.random() < p_cart):
            return
        qty = rng.choice([1, 1, 1, 2, 3])
        self.event(
            name="add_to_cart",
            path=f"/p/{product.slug}/",
            route="shop:cart_add",
            product=product.product_id,
            variant=product.variant_id,
            value=str(product.price * qty),
            props={"quantity": qty},
        )
        self.event(
            name="click",
            path=f"/p/{product.slug}/",
            route="shop:product",
            props={"track": "add-to-cart"},
            client=True,
        )
        self.event(name="page_view", path="/cart/", route="shop:cart")
        if not rng.random() < 0.55:
            return
        self.event(
            name="begin_checkout",
            path="/checkout/",
            route="shop:checkout",
            value=str(product.price * qty),
            props={"items": qty},
        )
        self.event(name="page_view", path="/checkout/", route="shop:checkout")
        if not rng.random() < 0.6:
            return
        order = rng.choice(orders) if orders else (None, product.price * qty)
        self.event(
            name="purchase",
            path="/checkout/",
            route="shop:checkout",
            order=order[0],
            value=str(order[1]),
            props={"items": qty},
        )
        self.event(
            name="page_view",
            path=f"/orders/demo-{self.number}/",
            route="shop:order_detail",
        )

    def leave(self) -> None:
        rng = self.rng
        self.event(
            name="engaged",
            path=self.landing,
            route="",
            props={"seconds": round(rng.uniform(5, 400), 1)},
            client=True,
            late=rng.random() < 0.05,
        )


def _events_write(*, rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        events_copy(rows=rows)
    else:
        Event.objects.bulk_create(
            [Event(**dict(zip(COLUMNS, row, strict=True))) for row in rows],
            batch_size=500,
            ignore_conflicts=True,
        )


def clickstream_generate(
    *,
    products: Sequence[DemoProduct],
    orders: Sequence[tuple[int, Decimal]],
    days: int = 30,
    events: int | None = None,
    seed: int = 0,
    stdout=None,
) -> int:
    """
    Generate about `events` events (default: 3,000 a day) over `days` days
    ending now for `products` and past `orders` (id, total), replacing
    earlier demo rows. Returns the number of events written; sessions and
    rollups are the caller's to build over those days.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    target = events if events is not None else days * 3000
    if not products:
        if stdout:
            stdout.write("No products with variants: load the catalogue first.")
        return 0
    now = datetime.now(UTC).replace(microsecond=0)
    run = _Run(
        rng=random.Random(seed),
        seed=seed,
        visitors=max(50, target // 25),
        days=days,
        start=now - timedelta(days=days),
        now=now,
        zone=shop_zone(),
        currency=settings.SHOP_CURRENCY,
    )
    with transaction.atomic():
        Event.objects.filter(visitor_id__startswith="demo-").delete()
        SessionSummary.objects.filter(visitor_id__startswith="demo-").delete()

    written, chunk, session_no = 0, [], 0
    report_every = max(target // 10, 1)
    next_report = report_every
    while written + len(chunk) < target:
        session_no += 1
        visit = _Visit(run=run, number=session_no, out=chunk)
        visit.browse(products=products)
        if visit.is_bot:
            continue
        visit.shop(orders=orders)
        visit.leave()
        if len(chunk) >= CHUNK_ROWS:
            _events_write(rows=chunk)
            written, chunk = written + len(chunk), []
            if stdout and written >= next_report:
                stdout.write(f"  {written:,} events…")
                next_report += report_every
    _events_write(rows=chunk)
    written += len(chunk)
    if stdout:
        stdout.write(
            f"Generated {written:,} clickstream events in {session_no:,} sessions."
        )
    return written
