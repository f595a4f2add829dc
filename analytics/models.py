import uuid

from django.db import models
from django.utils import timezone

# Events from the shop's services and views that readers select by name;
# each is a small share of all events (page views, product views and
# browser events are not).
RARE_EVENTS = [
    "search",
    "add_to_cart",
    "remove_from_cart",
    "begin_checkout",
    "purchase",
]


class Event(models.Model):
    """
    One clickstream event. Rows are append-only.

    Product, variant, order and user are plain IDs rather than foreign keys:
    events outlive the rows they mention and are bulk-loaded with COPY.

    Every index costs each of the many rows written, so the table keeps
    few: the primary key, the unique `event_id` that drops duplicates,
    `occurred_at`, through which readers (rollups, sessions, realtime,
    archive, prune) take their time range, and a partial index over the
    rare commerce events, which page views and browser events never enter.
    """

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=40)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    client_time = models.DateTimeField(null=True, blank=True)
    visitor_id = models.CharField(max_length=64, blank=True)
    # No index of its own: sessions are read a time range at a time.
    session_id = models.CharField(max_length=64, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    path = models.CharField(max_length=500, blank=True)
    route = models.CharField(max_length=100, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    # The session's marketing channel, fixed when the session starts.
    channel = models.CharField(max_length=30, blank=True)
    product_id = models.BigIntegerField(null=True, blank=True)
    variant_id = models.BigIntegerField(null=True, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True)
    value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    device = models.CharField(max_length=10, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    os = models.CharField(max_length=40, blank=True)
    language = models.CharField(max_length=20, blank=True)
    viewport = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    is_bot = models.BooleanField(default=False)
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            # Searches and purchases for the search report, and the admin's
            # filter by a rare event, without reading every page view.
            models.Index(
                fields=["name", "occurred_at"],
                name="analytics_event_commerce_idx",
                condition=models.Q(name__in=RARE_EVENTS),
            ),
        ]

    def __str__(self):
        return f"{self.name} {self.path}"


class SessionSummary(models.Model):
    """What one visit amounted to, rebuilt from its events."""

    session_id = models.CharField(max_length=64, unique=True)
    visitor_id = models.CharField(max_length=64, blank=True, db_index=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField()
    landing_path = models.CharField(max_length=500, blank=True)
    exit_path = models.CharField(max_length=500, blank=True)
    page_views = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    referrer = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=100, blank=True)
    medium = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=30, blank=True)
    device = models.CharField(max_length=10, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    os = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    is_bot = models.BooleanField(default=False)
    converted = models.BooleanField(default=False)
    revenue = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    class Meta:
        db_table = "analytics_session"
        ordering = ["-started_at"]
        verbose_name = "session"

    def __str__(self):
        return self.session_id


class HourlyRollup(models.Model):
    """
    One metric for one dimension value in one hour (UTC-aligned).

    `dimension` is e.g. "all", "page", "product", "category", "channel",
    "device" or "campaign"; `key` is the dimension's value ("" for "all").
    """

    hour = models.DateTimeField()
    metric = models.CharField(max_length=30)
    dimension = models.CharField(max_length=20)
    key = models.CharField(max_length=200, blank=True)
    value = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        ordering = ["hour"]
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "metric", "dimension", "key"], name="rollup_unique_cell"
            )
        ]
        indexes = [models.Index(fields=["metric", "dimension", "hour"])]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H}h {self.metric}/{self.dimension}={self.key}"
