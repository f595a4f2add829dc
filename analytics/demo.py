"""
Demo clickstream for `seed_demo`: the events of the shop's demo visits.

The shop simulates the visits (`shop/demo.py`: which pages, searches, cart
additions and purchases, and when) and hands them over as plain
`DemoVisit` records; this module gives each visit a traffic source, a
device and a place, and records the events the site's pages would have
recorded for it, browser events (clicks, scrolls, engagement) included,
some of them late. Bots' visits are flagged. Fast: rows stream into
PostgreSQL with COPY (bulk_create on SQLite).

Idempotent: every generated visitor and session ID starts with "demo-",
and a run first deletes the rows an earlier run generated. Event IDs derive
from the seed, so the same visits give the same events.
"""

import json
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction

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
# Rows held before a write: one COPY or bulk insert each.
CHUNK_ROWS = 50_000
# The site's routes, by the start of their paths (docs/dashboards.md).
ROUTES = [
    ("/c/", "shop:category"),
    ("/p/", "shop:product"),
    ("/search/", "shop:search"),
    ("/cart/add/", "shop:cart_add"),
    ("/cart/", "shop:cart"),
    ("/checkout/", "shop:checkout"),
    ("/orders/", "shop:order_detail"),
    ("/", "shop:home"),
]


class DemoStep(NamedTuple):
    """One page or action of a demo visit, on the site's own URLs."""

    at: datetime
    action: str  # page, product, search, add, checkout or purchase
    path: str
    product_id: int | None = None
    variant_id: int | None = None
    order_id: int | None = None
    value: Decimal | None = None
    quantity: int = 0
    query: str = ""
    results: int = 0


class DemoVisit(NamedTuple):
    """One demo session: its visitor, whether a bot, and its steps in order."""

    number: int
    visitor: int
    user_id: int | None
    bot: bool
    steps: Sequence[DemoStep]


class _Run(NamedTuple):
    """What every session of one generation shares."""

    rng: random.Random
    seed: int
    currency: str


def _route(path: str) -> str:
    return next(name for prefix, name in ROUTES if path.startswith(prefix))


class _Session:
    """
    The events of one demo visit: its traffic source, device and place are
    drawn on creation; each event it records is appended as a row to `out`.
    """

    def __init__(self, *, run: _Run, visit: DemoVisit, out: list[tuple]):
        rng = self.rng = run.rng
        self.run, self.visit, self.out = run, visit, out
        self.is_bot = visit.bot
        if self.is_bot:
            channel, device = BOT_CHANNEL, rng.choice(BOTS)
        else:
            # Channels convert unequally: a buying visit came by each
            # channel in proportion to its traffic times its lift.
            bought = any(step.action == "purchase" for step in visit.steps)
            weights = [c[1] * (c[6] if bought else 1) for c in CHANNELS]
            channel = rng.choices(CHANNELS, weights=weights)[0]
            device = rng.choices(DEVICES, weights=DEVICE_WEIGHTS)[0]
        (
            self.channel,
            _,
            self.source,
            self.medium,
            self.campaign,
            self.referrer,
            _,
        ) = channel
        self.visitor = f"demo-v{run.seed}-{visit.visitor}"
        self.session = f"demo-s{run.seed}-{visit.number}"
        self.country = rng.choice(COUNTRIES)
        self.language = rng.choice(LANGUAGES)
        self.device, _, self.browser, self.os, self.viewport = device
        self.first_ref = self.referrer

    def event(
        self,
        *,
        name: str,
        at: datetime,
        path: str,
        route: str | None = None,
        product: int | None = None,
        variant: int | None = None,
        order: int | None = None,
        value: Decimal | None = None,
        props: dict | None = None,
        client: bool = False,
        late: bool = False,
    ) -> None:
        """Record one event at `at`."""
        rng = self.rng
        client_time = None
        if client:
            client_time = at - (
                timedelta(minutes=rng.randint(10, 600))
                if late
                else timedelta(seconds=1)
            )
        self.out.append(
            (
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                name,
                at.isoformat(),
                client_time.isoformat() if client_time else None,
                self.visitor,
                self.session,
                self.visit.user_id,
                path,
                _route(path) if route is None else route,
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
                None if value is None else str(value),
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

    def play(self) -> None:
        """Record each step's events, then (humans) the engagement beacon."""
        for step in self.visit.steps:
            getattr(self, f"_{step.action}")(step)
        if not self.is_bot and self.visit.steps:
            rng, landing = self.rng, self.visit.steps[0]
            self.event(
                name="engaged",
                at=self.visit.steps[-1].at + timedelta(seconds=2),
                path=landing.path,
                route="",
                props={"seconds": round(rng.uniform(5, 400), 1)},
                client=True,
                late=rng.random() < 0.05,
            )

    def _page(self, step: DemoStep) -> None:
        self.event(name="page_view", at=step.at, path=step.path)

    def _product(self, step: DemoStep) -> None:
        self._page(step)
        self.event(
            name="product_view",
            at=step.at + timedelta(seconds=1),
            path=step.path,
            product=step.product_id,
        )
        if not self.is_bot and self.rng.random() < 0.5:
            self.event(
                name="scroll",
                at=step.at + timedelta(seconds=3),
                path=step.path,
                props={"depth": self.rng.choice([25, 50, 75, 100])},
                client=True,
                late=self.rng.random() < 0.03,
            )

    def _search(self, step: DemoStep) -> None:
        self._page(step)
        self.event(
            name="search",
            at=step.at + timedelta(seconds=1),
            path=step.path,
            props={"query": step.query, "results": step.results},
        )

    def _add(self, step: DemoStep) -> None:
        self.event(
            name="add_to_cart",
            at=step.at,
            path=step.path,
            product=step.product_id,
            variant=step.variant_id,
            value=step.value,
            props={"quantity": step.quantity},
        )
        self.event(
            name="click",
            at=step.at + timedelta(seconds=1),
            path=step.path,
            route="shop:product",
            props={"track": "add-to-cart"},
            client=True,
        )

    def _checkout(self, step: DemoStep) -> None:
        self.event(
            name="begin_checkout",
            at=step.at,
            path=step.path,
            value=step.value,
            props={"items": step.quantity},
        )
        self._page(step._replace(at=step.at + timedelta(seconds=1)))

    def _purchase(self, step: DemoStep) -> None:
        self.event(
            name="purchase",
            at=step.at,
            path=step.path,
            order=step.order_id,
            value=step.value,
            props={"items": step.quantity},
        )


def _events_write(*, rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        events_copy(rows=rows)
        return
    # One executemany, with values adapted as the ORM would store them: a
    # tenth of bulk_create's time, which is most of `make run`'s seed.
    ops, meta = connection.ops, Event._meta
    times = {COLUMNS.index("occurred_at"), COLUMNS.index("client_time")}
    event_id = COLUMNS.index("event_id")

    def adapted(row):
        row = list(row)
        for i in times:
            if row[i] is not None:
                row[i] = ops.adapt_datetimefield_value(datetime.fromisoformat(row[i]))
        row[event_id] = row[event_id].replace("-", "")
        return row

    columns = ", ".join(ops.quote_name(meta.get_field(c).column) for c in COLUMNS)
    marks = ", ".join(["%s"] * len(COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT OR IGNORE INTO {meta.db_table} ({columns}) VALUES ({marks})",
            [adapted(row) for row in rows],
        )


def clickstream_generate(
    *,
    visits: Sequence[DemoVisit],
    seed: int = 0,
    stdout=None,
) -> int:
    """
    Record the events of `visits`, replacing earlier demo rows. Returns the
    number of events written; sessions and rollups are the caller's to build
    over the visits' days.
    """
    run = _Run(rng=random.Random(seed), seed=seed, currency=settings.SHOP_CURRENCY)
    with transaction.atomic():
        Event.objects.filter(visitor_id__startswith="demo-").delete()
        SessionSummary.objects.filter(visitor_id__startswith="demo-").delete()

    written, chunk = 0, []
    report_every = max(len(visits) // 10, 1)
    for number, visit in enumerate(visits, 1):
        _Session(run=run, visit=visit, out=chunk).play()
        if len(chunk) >= CHUNK_ROWS:
            _events_write(rows=chunk)
            written, chunk = written + len(chunk), []
        if stdout and number % report_every == 0:
            stdout.write(f"  {written + len(chunk):,} events…")
    _events_write(rows=chunk)
    written += len(chunk)
    if stdout:
        stdout.write(
            f"Generated {written:,} clickstream events in {len(visits):,} sessions."
        )
    return written
