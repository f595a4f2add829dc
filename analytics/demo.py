# ruff: noqa: B023 -- `add` is a per-session closure, called only within its loop turn.
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
DEVICES = [
    ("desktop", 48, "Chrome", "Windows", "1440x900"),
    ("desktop", 10, "Safari", "Mac OS X", "1512x982"),
    ("mobile", 26, "Mobile Safari", "iOS", "390x844"),
    ("mobile", 10, "Chrome Mobile", "Android", "412x915"),
    ("tablet", 6, "Mobile Safari", "iOS", "820x1180"),
]
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
STATIC_PAGES = ["/", "/cart/", "/search/?q=mug", "/search/?q=linen", "/search/?q=lamp"]


class DemoProduct(NamedTuple):
    """What the demo clickstream needs to know of one product variant."""

    product_id: int
    slug: str
    variant_id: int
    price: Decimal


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
    rng = random.Random(seed)
    zone = shop_zone()
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=days)
    currency = settings.SHOP_CURRENCY
    postgres = connection.vendor == "postgresql"

    def uid():
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    channel_pick = [c[1] for c in CHANNELS]
    device_pick = [d[1] for d in DEVICES]
    hour_pick = HOURLY
    visitors = max(50, target // 25)

    with transaction.atomic():
        Event.objects.filter(visitor_id__startswith="demo-").delete()
        SessionSummary.objects.filter(visitor_id__startswith="demo-").delete()

    written, chunk, session_no = 0, [], 0
    report_every = max(target // 10, 1)
    next_report = report_every

    def flush_chunk():
        nonlocal chunk, written
        if not chunk:
            return
        if postgres:
            events_copy(rows=chunk)
        else:
            Event.objects.bulk_create(
                [Event(**dict(zip(COLUMNS, row, strict=True))) for row in chunk],
                batch_size=500,
                ignore_conflicts=True,
            )
        written += len(chunk)
        chunk = []

    while written + len(chunk) < target:
        session_no += 1
        is_bot = rng.random() < 0.06
        channel = rng.choices(CHANNELS, weights=channel_pick)[0]
        device = (
            rng.choice(BOTS) if is_bot else rng.choices(DEVICES, weights=device_pick)[0]
        )
        name_c, _, source, medium, campaign, referrer, lift = channel
        if is_bot:
            name_c, source, medium, campaign, referrer, lift = (
                "direct",
                "",
                "",
                "",
                "",
                0,
            )
        visitor = f"demo-v{seed}-{rng.randrange(visitors)}"
        session = f"demo-s{seed}-{session_no}"
        day = rng.randrange(days)
        hour = rng.choices(range(24), weights=hour_pick)[0]
        local = (
            (start + timedelta(days=day))
            .astimezone(zone)
            .replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        )
        if local.hour == 23 and local.minute > 20:  # sessions end by midnight
            local -= timedelta(minutes=40)
        at = local.astimezone(UTC)
        if at > now - timedelta(minutes=40):
            at = now - timedelta(minutes=rng.randrange(40, 600))
        user_id = None
        country = rng.choice(COUNTRIES)
        language = rng.choice(LANGUAGES)
        dev, browser, os_name, viewport = device[0], device[2], device[3], device[4]
        first_ref = referrer

        def add(
            name,
            path,
            route,
            *,
            product=None,
            variant=None,
            order=None,
            value=None,
            props=None,
            client=False,
            late=False,
            status=200,
        ):
            nonlocal at, first_ref
            at += timedelta(seconds=rng.randint(3, 90))
            client_time = None
            if client:
                client_time = at - (
                    timedelta(minutes=rng.randint(10, 600))
                    if late
                    else timedelta(seconds=1)
                )
            chunk.append(
                (
                    str(uid()),
                    name,
                    at.isoformat(),
                    client_time.isoformat() if client_time else None,
                    visitor,
                    session,
                    user_id,
                    path,
                    route,
                    first_ref,
                    source,
                    medium,
                    campaign,
                    "",
                    "",
                    name_c,
                    product,
                    variant,
                    order,
                    value,
                    currency if value is not None else "",
                    dev,
                    browser,
                    os_name,
                    language,
                    viewport if client else "",
                    country,
                    status if name == "page_view" else None,
                    rng.randint(8, 120) if name == "page_view" else None,
                    is_bot,
                    json.dumps(props or {}),
                )
            )
            first_ref = referrer if name != "page_view" else ""

        views = 1 + int(rng.expovariate(1 / (12 if is_bot else 3)))
        landing = rng.choice(STATIC_PAGES[:1] * 3 + STATIC_PAGES)
        product = rng.choice(products)
        add("page_view", landing, "shop:home" if landing == "/" else "shop:search")
        for _ in range(views - 1):
            product = rng.choice(products)
            path = f"/p/{product.slug}/"
            add("page_view", path, "shop:product")
            add("product_view", path, "shop:product", product=product.product_id)
            if not is_bot and rng.random() < 0.5:
                add(
                    "scroll",
                    path,
                    "shop:product",
                    props={"depth": rng.choice([25, 50, 75, 100])},
                    client=True,
                    late=rng.random() < 0.03,
                )
        if is_bot:
            continue
        p_cart = 0.18 * lift * (0.8 if dev == "mobile" else 1.0)
        if views > 1 and rng.random() < p_cart:
            qty = rng.choice([1, 1, 1, 2, 3])
            add(
                "add_to_cart",
                f"/p/{product.slug}/",
                "shop:cart_add",
                product=product.product_id,
                variant=product.variant_id,
                value=str(product.price * qty),
                props={"quantity": qty},
            )
            add(
                "click",
                f"/p/{product.slug}/",
                "shop:product",
                props={"track": "add-to-cart"},
                client=True,
            )
            add("page_view", "/cart/", "shop:cart")
            if rng.random() < 0.55:
                add(
                    "begin_checkout",
                    "/checkout/",
                    "shop:checkout",
                    value=str(product.price * qty),
                    props={"items": qty},
                )
                add("page_view", "/checkout/", "shop:checkout")
                if rng.random() < 0.6:
                    order = (
                        rng.choice(orders) if orders else (None, product.price * qty)
                    )
                    add(
                        "purchase",
                        "/checkout/",
                        "shop:checkout",
                        order=order[0],
                        value=str(order[1]),
                        props={"items": qty},
                    )
                    add("page_view", f"/orders/demo-{session_no}/", "shop:order_detail")
        add(
            "engaged",
            landing,
            "",
            props={"seconds": round(rng.uniform(5, 400), 1)},
            client=True,
            late=rng.random() < 0.05,
        )
        if len(chunk) >= 50000:
            flush_chunk()
            if stdout and written >= next_report:
                stdout.write(f"  {written:,} events…")
                next_report += report_every
    flush_chunk()
    if stdout:
        stdout.write(
            f"Generated {written:,} clickstream events in {session_no:,} sessions."
        )
    return written
