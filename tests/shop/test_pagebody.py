"""A cached page's body, gzipped from parts compressed once."""

import gzip
import secrets
import zlib

from django.middleware.csrf import CSRF_TOKEN_LENGTH

from shop.pagebody import PageBody

MARK = "@@token@@"


def _page(forms: int) -> str:
    rows = "".join(f"<li><a href='/p/{n}/'>Product {n}</a> £{n}.00</li>" for n in range(300))
    form = f"<form method='post'><input name='csrfmiddlewaretoken' value='{MARK}'></form>"
    return "<!doctype html><title>Shop</title>" + (rows + form) * forms + rows


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    out = inflater.decompress(data)
    assert inflater.eof and not inflater.unused_data  # one whole member
    return out


def test_the_gzip_stream_is_the_page_with_each_token():
    html = _page(forms=3)
    body = PageBody(html, marker=MARK)
    for _ in range(5):
        token = secrets.token_urlsafe(48)[:CSRF_TOKEN_LENGTH]
        expected = html.replace(MARK, token).encode()
        assert _inflate(body.gzipped(token)) == expected
        assert gzip.decompress(body.gzipped(token)) == expected
        assert body.plain(token) == expected
    # As small as compressing the whole page, give or take the random name.
    whole = len(gzip.compress(html.encode(), compresslevel=6))
    assert len(body.gzipped("x" * CSRF_TOKEN_LENGTH)) < whole + 3 * 80 + 100


def test_a_page_without_a_form_and_odd_input_still_decode():
    for html, token in (
        (_page(forms=0), ""),  # no token at all
        (_page(forms=2), "short"),  # not a masked token's length
        (_page(forms=1).replace("Shop", "Sh\x00op"), "y" * CSRF_TOKEN_LENGTH),  # a NUL
        (MARK + "é" * 70_000 + MARK, "z" * CSRF_TOKEN_LENGTH),  # empty and long parts
    ):
        body = PageBody(html, marker=MARK)
        assert _inflate(body.gzipped(token)) == html.replace(MARK, token).encode()
