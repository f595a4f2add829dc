"""The client address behind trusted proxies (config/net.py)."""

import pytest
from django.test import RequestFactory

from config.net import client_ip


def _request(remote="10.0.0.5", forwarded=None, viewer=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    if viewer is not None:
        meta["HTTP_CLOUDFRONT_VIEWER_ADDRESS"] = viewer
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_forwarded_headers_are_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = _request(forwarded="203.0.113.9", viewer="198.51.100.1:443")
    assert client_ip(request) == "10.0.0.5"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        # A client-supplied entry on the left is never believed.
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 130.176.0.1", "203.0.113.9"),
        (2, " 203.0.113.9 ,130.176.0.1 ", "203.0.113.9"),
        (1, "2001:db8::7", "2001:db8::7"),
        # Fewer entries than trusted proxies, or junk: the socket's address.
        (2, "203.0.113.9", "10.0.0.5"),
        (1, "6.6.6.6, not-an-ip", "10.0.0.5"),
        (1, "", "10.0.0.5"),
    ],
)
def test_the_nth_forwarded_entry_from_the_right_is_the_client(
    settings, count, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(_request(forwarded=forwarded)) == expected


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("198.51.100.1:46532", "198.51.100.1"),
        ("2001:db8::1:46532", "2001:db8::1"),
        ("[2001:db8::1]:46532", "2001:db8::1"),
        ("junk", "10.0.0.5"),
    ],
)
def test_cloudfront_viewer_address_is_honoured_behind_a_trusted_proxy(
    settings, viewer, expected
):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request(viewer=viewer)) == expected


def test_a_full_forwarded_chain_wins_over_the_viewer_header(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = _request(forwarded="203.0.113.9", viewer="6.6.6.6:1234")
    assert client_ip(request) == "203.0.113.9"
