"""
The one place that builds boto3 clients.

`AWS_ENDPOINT_URL` points every client at LocalStack or moto's server; when it
is empty, boto3's normal resolution reaches real AWS with real credentials.
"""

import ipaddress
from functools import cache
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from django.conf import settings


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session(region_name=settings.AWS_REGION)


def aws_client(service: str, *, timeout: float | None = None, retries: int = 3):
    """Return a boto3 client for `service`, honouring the endpoint override."""
    config = Config(
        connect_timeout=timeout or 5,
        read_timeout=timeout or 30,
        retries={"max_attempts": retries, "mode": "standard"},
    )
    return _session().client(
        service,
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        config=config,
    )


def aws_endpoint_is_local() -> bool:
    """Whether AWS_ENDPOINT_URL points at a stand-in on this machine (moto)."""
    host = urlsplit(settings.AWS_ENDPOINT_URL).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
