"""Caching headers and cursors shared by the API's endpoints."""

import base64
import hashlib
from dataclasses import dataclass

from django.http import HttpResponse

from config.problems import Problem

# Catalogue answers may sit this long in CloudFront and browsers; a change
# shows after at most this delay (the ETag then differs).
CATALOGUE_MAX_AGE = 60
# Page numbers beyond this are refused, as on the site's listings.
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Encoded:
    """A serialised JSON body and its entity tag, cached together."""

    body: bytes
    etag: str


def encoded(body: bytes) -> Encoded:
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    return Encoded(body=body, etag=f'"{digest}"')


def _opaque(tag: str) -> str:
    # Weak comparison (RFC 9110): GZipMiddleware turns our tag into W/"...".
    return tag.strip().removeprefix("W/")


def catalogue_response(request, entry: Encoded) -> HttpResponse:
    """200 with the body, or 304 when the client's copy is current."""
    wanted = request.headers.get("If-None-Match", "")
    if wanted and (
        wanted.strip() == "*"
        or _opaque(entry.etag) in {_opaque(t) for t in wanted.split(",")}
    ):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(entry.body, content_type="application/json")
    response["ETag"] = entry.etag
    response["Cache-Control"] = f"public, max-age={CATALOGUE_MAX_AGE}"
    return response


def cursor_encode(page: int) -> str:
    return base64.urlsafe_b64encode(f"p{page}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str | None) -> int:
    """The page a cursor points at (1 without one); a 400 problem if it is bad."""
    if not cursor:
        return 1
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        page = int(text.removeprefix("p")) if text.startswith("p") else 0
    except ValueError:
        page = 0
    if not 1 <= page <= MAX_PAGE:
        raise Problem("malformed-request", "That cursor is not one this API gave out.")
    return page
