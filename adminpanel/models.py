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
    Recency, frequency, spend and lifetime value of one customer.

    Rebuilt by the `refresh_customer_stats` job from placed (not cancelled)
    orders; the dashboard's Customers page reads it instead of aggregating.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, related_name="stats", on_delete=models.CASCADE
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
        return f"{self.user_id}: {self.orders_count} orders, {self.lifetime_value}"
