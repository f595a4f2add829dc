"""State kept by data operations: job runs and switches, customer statistics."""

from decimal import Decimal

from django.conf import settings
from django.db import models


class JobRun(models.Model):
    """One run of a periodic job: when, how it ended and what it did."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Succeeded"
        ERROR = "error", "Failed"

    name = models.CharField(max_length=60)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["name", "-started_at"])]

    def __str__(self):
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class JobSwitch(models.Model):
    """An operator's on/off choice for a job, overriding the settings default."""

    name = models.CharField(max_length=60, unique=True)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name}: {'on' if self.enabled else 'off'}"


class CustomerStats(models.Model):
    """
    Recency, frequency, spend and lifetime value of one customer: an email
    with sales, signed in or guest (docs/dashboards.md).

    Rebuilt by the `refresh_customer_stats` job from sales; the dashboard's
    Customers page reads it instead of aggregating. `user` is the account
    behind the email's orders, when there is one.
    """

    email = models.EmailField(unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="stats",
        on_delete=models.SET_NULL,
    )
    orders_count = models.PositiveIntegerField(default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True, db_index=True)
    recency_days = models.PositiveIntegerField(null=True, blank=True)
    spend_90d = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0")
    )
    lifetime_value = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_index=True
    )
    average_order_value = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0")
    )
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["-lifetime_value"]
        verbose_name_plural = "customer stats"

    def __str__(self):
        return f"{self.email}: {self.orders_count} orders, {self.lifetime_value}"


# ---------------------------------------------------------------------------
# Daily rollups the dashboards read (built by adminpanel/rollups.py).
# Days are local dates in the shop's time zone.
# ---------------------------------------------------------------------------


class DailySessionRollup(models.Model):
    """
    Sessions that started on one local day, for one value of one dimension.

    `dimension` is "all" (key "") or a session attribute: channel, device,
    browser, country, campaign, referrer, landing_path or source. Counts are
    of human sessions; `bot_sessions` counts the flagged ones. `visitors` is
    distinct per day and cell: it does not add up across days (see
    DailyVisitor for ranges). The step columns count sessions with at least
    one event of that step (adminpanel/rollups.py FUNNEL_EVENTS).
    """

    day = models.DateField()
    dimension = models.CharField(max_length=20)
    key = models.CharField(max_length=500, blank=True)
    sessions = models.PositiveIntegerField(default=0)
    visitors = models.PositiveIntegerField(default=0)
    converted_sessions = models.PositiveIntegerField(default=0)
    bot_sessions = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    sessions_with_product_view = models.PositiveIntegerField(default=0)
    sessions_with_add_to_cart = models.PositiveIntegerField(default=0)
    sessions_with_checkout = models.PositiveIntegerField(default=0)
    sessions_with_payment = models.PositiveIntegerField(default=0)
    sessions_with_purchase = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dimension", "day", "key"], name="daily_session_cell"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.dimension}={self.key}: {self.sessions}"


class DailyVisitor(models.Model):
    """A human visitor seen (a session started) on one local day."""

    day = models.DateField()
    visitor_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "visitor_id"], name="daily_visitor")
        ]

    def __str__(self):
        return f"{self.day} {self.visitor_id}"


class DailyVisitorCount(models.Model):
    """
    How many of one day's visitors had last come on `previous_day` (None:
    never before). Distinct visitors over [first, last] is then an exact sum:
    the rows of those days whose previous day is before `first` or None, as
    each visitor counts once, on their first day in the range.
    """

    day = models.DateField()
    previous_day = models.DateField(null=True, blank=True)
    visitors = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "previous_day"])]

    def __str__(self):
        return f"{self.day} after {self.previous_day}: {self.visitors}"


class DailySearchRollup(models.Model):
    """
    Searches for one (lower-cased) query, by the local day of a session's
    first search for it. `sessions` counts sessions that searched it;
    `purchasing_*` are those sessions that also purchased, and their searches.
    """

    day = models.DateField()
    query = models.CharField(max_length=200)
    searches = models.PositiveIntegerField(default=0)
    zero_result_searches = models.PositiveIntegerField(default=0)
    sessions = models.PositiveIntegerField(default=0)
    purchasing_sessions = models.PositiveIntegerField(default=0)
    purchasing_searches = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"])]

    def __str__(self):
        return f"{self.day} {self.query!r}: {self.searches}"


class DailyOrderRollup(models.Model):
    """
    Orders placed on one local day in one status, by customer cohort.

    `cohort_day` is the local day of the customer's (email's) first placed
    order (None for cancelled orders, which make no customer);
    `new_customers` counts customers whose first placed order is one of
    these orders, so it adds up across days.
    """

    day = models.DateField()
    status = models.CharField(max_length=20)
    cohort_day = models.DateField(null=True, blank=True)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    new_customers = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "status"])]

    def __str__(self):
        return f"{self.day} {self.status}: {self.orders}"


class DailyProductRollup(models.Model):
    """
    Sales of one product on one local day, from the lines of placed (not
    cancelled) orders, by the day the order was placed. `orders` counts the
    orders containing the product; an order has one day, so it adds up across
    days. `product_id` is a plain number, not a key: a deleted product's past
    sales stay until its days are rebuilt. `views` and `add_to_carts` are the
    product's hourly rollup cells summed over the local day.
    """

    day = models.DateField()
    product_id = models.BigIntegerField()
    units = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    orders = models.PositiveIntegerField(default=0)
    views = models.PositiveIntegerField(default=0)
    add_to_carts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "product_id"], name="daily_product_cell"
            )
        ]

    def __str__(self):
        return f"{self.day} product {self.product_id}: {self.units}"


class RollupMark(models.Model):
    """When a daily rollup was last built, so the next run knows what changed."""

    name = models.CharField(max_length=40, unique=True)
    built_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.built_at}"
