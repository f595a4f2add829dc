"""
Copying imported images into the shop's media storage (S3 in production), so
that they outlive the store they came from. Each image keeps its URL as its
source; one that cannot be fetched keeps only the URL, and is reported.
"""

import hashlib
import mimetypes
import posixpath
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
from django.core.files.base import ContentFile
from django.utils.text import slugify

from shop.models import ProductImage

MAX_IMAGE_BYTES = 20 * 1024 * 1024
# Downloads wait on the network, not the CPU: threads overlap them.
WORKERS = 8


class _FetchError(Exception):
    pass


def _download(url: str, timeout: float) -> tuple[bytes, str]:
    """The image's bytes and type, within ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    with requests.get(url, timeout=timeout, stream=True) as response:
        response.raise_for_status()
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not kind.startswith("image/"):
            raise _FetchError(f"not an image ({kind or 'no Content-Type'})")
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_IMAGE_BYTES:
                raise _FetchError("larger than 20 MB")
            if time.monotonic() > deadline:
                raise _FetchError(f"took longer than {timeout:g} s")
            chunks.append(chunk)
    return b"".join(chunks), kind


def _file_name(url: str, kind: str) -> str:
    stem, ext = posixpath.splitext(posixpath.basename(urlsplit(url).path))
    ext = ext.lower() or mimetypes.guess_extension(kind) or ""
    # Two images named a.jpg from different folders stay apart.
    digest = hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{slugify(stem)[:60] or 'image'}-{digest}{ext}"


def images_fetch(
    *, images: list[ProductImage], timeout: float, errors: list[str]
) -> list[ProductImage]:
    """
    Download each image's ``url`` into media storage, in parallel, and set its
    ``image``; returns those fetched. Failures are appended to ``errors``.
    Nothing is saved to the database here.
    """
    field = ProductImage._meta.get_field("image")

    def fetch(image: ProductImage) -> tuple[str | None, str]:
        try:
            data, kind = _download(image.url, timeout)
            name = field.generate_filename(image, _file_name(image.url, kind))
            return field.storage.save(name, ContentFile(data)), ""
        except (requests.RequestException, _FetchError, OSError) as exc:
            return None, f"{image.url}: {exc}"

    fetched = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for image, (name, error) in zip(images, pool.map(fetch, images), strict=True):
            if name:
                image.image = name
                fetched.append(image)
            else:
                errors.append(error)
    return fetched
