"""
A cached page's body, ready to be sent plain or gzipped with each visitor's
CSRF token in it.

Compressing a 30 KB page costs a cached page about as much as serving it.
Everything around the token is the same for every visitor, so the page is
compressed once, with a stand-in for each token: TOKEN_LENGTH NUL bytes,
flushed to a byte boundary before and after (a sync flush). HTML holds no
NUL, so no match in the compressed stream can reach into a stand-in, and a
stand-in is as long as a token, so matches across it keep their distance.
A response is that stream with each stand-in's blocks replaced by the
visitor's token as a stored (uncompressed) block, in a gzip header and
trailer: a valid gzip stream (RFC 1951, 1952) about as small as compressing
the whole page, built without compressing anything again.

As Django's GZipMiddleware does against BREACH, the gzip header carries a
name of random length, so a response's length says nothing exact about
its content.
"""

import gzip
import secrets
import struct
import zlib

from django.http import HttpResponse
from django.middleware.csrf import CSRF_TOKEN_LENGTH
from django.utils.cache import patch_vary_headers
from django.utils.regex_helper import _lazy_re_compile

# gzip.GzipFile's header: magic, deflate, flags (a name follows), mtime 0,
# no extra flags, "unknown" OS.
_HEADER = b"\x1f\x8b\x08" + bytes([gzip.FNAME]) + b"\x00\x00\x00\x00\x00\xff"
MAX_RANDOM_BYTES = 100  # as GZipMiddleware.max_random_bytes
TOKEN_LENGTH = CSRF_TOKEN_LENGTH  # what get_token() returns, masked
ACCEPTS_GZIP = _lazy_re_compile(r"\bgzip\b")


def _stored(data: bytes) -> bytes:
    """`data` as one stored (uncompressed) deflate block, not the final one."""
    return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


def _deflated(parts: list[bytes]) -> list[bytes] | None:
    """
    The compressed `parts`, to be joined by stored tokens; None if a part
    holds a NUL byte (it could match a stand-in).
    """
    if any(b"\x00" in part for part in parts):
        return None
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    stand_in = b"\x00" * TOKEN_LENGTH
    deflated = []
    for index, part in enumerate(parts):
        if index:
            compressor.compress(stand_in)
            compressor.flush(zlib.Z_SYNC_FLUSH)  # the stand-in's blocks: dropped
        deflated.append(compressor.compress(part) + compressor.flush(zlib.Z_SYNC_FLUSH))
    deflated[-1] += compressor.flush(zlib.Z_FINISH)
    return deflated


class PageBody:
    """A page's HTML split where the token goes, plain and compressed."""

    __slots__ = ("_deflated", "_parts", "_size")

    def __init__(self, html: str, *, marker: str):
        self._parts = [part.encode() for part in html.split(marker)]
        self._size = sum(len(part) for part in self._parts)
        self._deflated = _deflated(self._parts)

    def __len__(self) -> int:
        return self._size

    @property
    def has_token(self) -> bool:
        """Whether the page has a place for the token (a form)."""
        return len(self._parts) > 1

    def plain(self, token: str) -> bytes:
        return token.encode().join(self._parts)

    def gzipped(self, token: str) -> bytes:
        token_bytes = token.encode()
        name = b"a" * secrets.randbelow(MAX_RANDOM_BYTES) + b"\x00"
        if self._deflated is None or (
            self.has_token and len(token_bytes) != TOKEN_LENGTH
        ):
            data = self.plain(token)
            return _HEADER + name + gzip.compress(data, compresslevel=6, mtime=0)[10:]
        crc = 0
        for index, part in enumerate(self._parts):
            if index:
                crc = zlib.crc32(token_bytes, crc)
            crc = zlib.crc32(part, crc)
        length = self._size + TOKEN_LENGTH * (len(self._parts) - 1)
        return b"".join(
            [
                _HEADER,
                name,
                _stored(token_bytes).join(self._deflated),
                struct.pack("<II", crc, length & 0xFFFFFFFF),
            ]
        )

    def response(self, request, token: str) -> HttpResponse:
        """The body for `request`: gzipped when the client accepts it."""
        if not ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            response = HttpResponse(self.plain(token))
        else:
            response = HttpResponse(self.gzipped(token))
            response["Content-Encoding"] = "gzip"
        patch_vary_headers(response, ("Accept-Encoding",))
        return response
