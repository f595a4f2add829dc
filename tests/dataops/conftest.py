"""
Fixtures for data operations: moto's server as the local S3 over real HTTP,
with a counter of the requests that write objects.
"""

import datetime as dt
import os
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from accounts.models import Address
from analytics.models import Event, HourlyRollup, SessionSummary
from config.aws import _session
from shop.models import ProductImage
from shop.services import product_index_refresh
from tests.aws_local import moto_running
from tests.factories import OrderFactory, OrderLineFactory, UserFactory, VariantFactory

WRITE_OPERATIONS = {
    "PutObject",
    "UploadPart",
    "CreateMultipartUpload",
    "CompleteMultipartUpload",
    "CopyObject",
}


@pytest.fixture(scope="session")
def moto_s3_url():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with moto_running() as url:
        yield url


class RequestCounter:
    """Counts the S3 requests boto3 sends over HTTP, by operation."""

    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, event_name: str = "", **kwargs):
        # "before-send.s3.PutObject" -> "PutObject"
        self.calls.append(event_name.rsplit(".", 1)[-1])

    @property
    def writes(self) -> int:
        return sum(1 for c in self.calls if c in WRITE_OPERATIONS)

    def reset(self):
        self.calls.clear()


@pytest.fixture
def s3(moto_s3_url, settings):
    """A fresh archive bucket on the local S3; yields (client, counter)."""
    from config.aws import aws_client

    requests.post(f"{moto_s3_url}/moto-api/reset", timeout=5)
    settings.AWS_ENDPOINT_URL = moto_s3_url
    settings.AWS_ARCHIVE_BUCKET = "test-archive"
    settings.AWS_ARCHIVE_PREFIX = "archive"
    counter = RequestCounter()
    # Every client is made from this session, so the hook sees every request
    # actually sent over HTTP (retries included).
    _session().events.register("before-send.s3", counter)
    client = aws_client("s3")
    client.create_bucket(
        Bucket="test-archive",
        CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION},
    )
    counter.reset()
    yield client, counter
    _session().events.unregister("before-send.s3", counter)


def today():
    return timezone.now().astimezone(dt.UTC).date()


def at(days: int, hour: int = 12) -> dt.datetime:
    day = today() + dt.timedelta(days=days)
    return dt.datetime(
        day.year, day.month, day.day, hour, 30, 15, 123456, tzinfo=dt.UTC
    )


@pytest.fixture
def shop_data(db):
    user = UserFactory(email="ada@example.com", name='Ada "Quotes", Lovelace')
    variant = VariantFactory(sku="V-1", options={"size": "M", "note": "a,b\nc"})
    ProductImage.objects.create(
        product=variant.product, url="https://img.example.com/v1.jpg", position=0
    )
    Address.objects.create(
        user=user, full_name="Ada", address_line1="1 Lane", city="Leeds",
        postcode="LS1 1AA", country="GB",
    )  # fmt: skip
    product_index_refresh(product_ids=[variant.product_id])
    for days in (-2, -1, 0, 1, 2):
        order = OrderFactory(user=user, created_at=at(days), full_name="Zoë Ünïcode")
        OrderLineFactory(
            order=order, variant=variant, product=variant.product, sku="V-1"
        )
        Event.objects.create(
            name="page_view",
            occurred_at=at(days),
            path=f"/p/{days}",
            value=Decimal("12.50"),
            properties={"q": "x"},
        )
        SessionSummary.objects.create(
            session_id=f"s{days}", started_at=at(days), ended_at=at(days, 13)
        )
        HourlyRollup.objects.create(
            hour=at(days).replace(minute=0, second=0, microsecond=0),
            metric="views",
            dimension="all",
            value=3,
        )
    return user
