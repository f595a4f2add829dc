"""
Fixtures for data operations: moto's server as the local S3 over real HTTP,
with a counter of the requests that write objects.
"""

import os

import pytest
import requests

from config.aws import _session
from tests.aws_local import moto_running

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
