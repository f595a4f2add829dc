"""
The client's address, for rate limits and hashes.

Behind CloudFront or an ALB, REMOTE_ADDR is the proxy's address. With
`TRUSTED_PROXY_COUNT` = N > 0, the client is the N-th `X-Forwarded-For`
entry from the right: the one our outermost trusted proxy appended. Entries
further left were sent by the client and can be forged, so they are never
read. CloudFront's `CloudFront-Viewer-Address` ("ip:port") is the fallback
when the chain is shorter than N.
"""

import ipaddress

from django.conf import settings


def _valid(address: str) -> str | None:
    address = address.strip()
    if address.startswith("[") and "]" in address:
        address = address[1 : address.index("]")]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _viewer_address(value: str) -> str | None:
    # "198.51.100.1:46532", "2001:db8::1:46532" or "[2001:db8::1]:46532".
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit():
        return None
    return _valid(host)


def client_ip(request) -> str:
    """The address of the client, trusting only `TRUSTED_PROXY_COUNT` proxies."""
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    chain = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    chain = [entry for entry in chain if entry.strip()]
    if len(chain) >= count:
        return _valid(chain[-count]) or remote
    viewer = request.META.get("HTTP_CLOUDFRONT_VIEWER_ADDRESS", "")
    return (viewer and _viewer_address(viewer)) or remote
