"""
Per-customer recency, frequency, spend and lifetime value. A customer is an
email with sales, signed in or guest (docs/dashboards.md), the same customers
the order rollups count as new or returning.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from shop.models import Order

from .models import CustomerStats


@transaction.atomic
def customer_stats_refresh(*, now: dt.datetime | None = None) -> dict:
    """
    Rebuild CustomerStats from sales (`Order.objects.placed()`), one row per
    email, with the account behind its orders when there is one.

    Idempotent: rows are upserted per customer and rows of customers without
    a sale any more are removed. Returns counts.
    """
    now = now or timezone.now()
    since_90d = now - dt.timedelta(days=90)
    rows = (
        Order.objects.placed()
        .values("email")
        .annotate(
            user=Max("user_id"),
            n=Count("id"),
            spend=Sum("total"),
            spend_90d=Sum("total", filter=Q(created_at__gte=since_90d)),
            first=Min("created_at"),
            last=Max("created_at"),
        )
        .order_by("email")
    )
    stats = [
        CustomerStats(
            email=r["email"],
            user_id=r["user"],
            orders_count=r["n"],
            first_order_at=r["first"],
            last_order_at=r["last"],
            recency_days=max((now - r["last"]).days, 0),
            spend_90d=r["spend_90d"] or 0,
            lifetime_value=r["spend"] or 0,
            average_order_value=(r["spend"] or 0) / r["n"],
            refreshed_at=now,
        )
        for r in rows.iterator(chunk_size=5000)
    ]
    for s in stats:
        s.average_order_value = s.average_order_value.quantize(Decimal("0.01"))
    CustomerStats.objects.bulk_create(
        stats,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["email"],
        update_fields=[
            "user",
            "orders_count",
            "first_order_at",
            "last_order_at",
            "recency_days",
            "spend_90d",
            "lifetime_value",
            "average_order_value",
            "refreshed_at",
        ],
    )
    removed, _ = CustomerStats.objects.exclude(refreshed_at=now).delete()
    return {"customers": len(stats), "removed": removed}
