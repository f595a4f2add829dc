"""
Loading catalogues from files: the project's own CSV and JSON Lines formats
(`native`), WooCommerce's product CSV export (`woocommerce`) and Shopify's
product CSV (`shopify`). `records` holds what they share; `writer` writes the
shop's models.

The file is read twice, streaming both times so memory stays bounded:

1. every row is parsed and validated and every error is collected, each
   with its line, column and reason;
2. only if there was none (or with ``skip_invalid``) the products are
   upserted by SKU in batches, inside one transaction.

A second load of the same file finds everything equal and writes nothing,
whatever the order of its rows: the first pass also records which SKUs each
product has anywhere in the file, so a product is recognised by them even when
its variants come long after it.
"""

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db import transaction

from .native import _jsonl_records, _native_records
from .records import (
    CatalogFileError,
    ErrorLog,
    LoadResult,
    ProductRecord,
    RowError,
    _Source,
    sanitize_html,
    text_encoding_check,
)
from .shopify import _shopify_records
from .woocommerce import _woo_records
from .writer import _Writer

__all__ = [
    "FORMATS",
    "CatalogFileError",
    "LoadResult",
    "RowError",
    "catalog_format_detect",
    "catalog_load",
    "sanitize_html",
]

FORMATS = ("native", "jsonl", "woocommerce", "shopify")


# A reader yields a file's records, logs every error it sees and passes over
# the lines in its third argument (those the first pass found invalid).
Reader = Callable[[_Source, ErrorLog, set[int]], Iterator[ProductRecord]]
READERS: dict[str, Reader] = {
    "native": _native_records,
    "jsonl": _jsonl_records,
    "woocommerce": _woo_records,
    "shopify": _shopify_records,
}


def catalog_format_detect(*, path: Path, encoding: str = "utf-8") -> str:
    """Tell the format from the first line: JSON, or the CSV header's columns."""
    text = next(iter(_Source(Path(path), encoding, None).lines()), "")
    if not text.strip():
        raise CatalogFileError("the file is empty")
    if text.lstrip().startswith("{"):
        return "jsonl"
    header = {h.strip() for h in next(csv.reader([text]), [])}
    if {"Handle", "Variant SKU"} <= header:
        return "shopify"
    if {"Type", "SKU", "Regular price"} <= header:
        return "woocommerce"
    if {"product", "sku", "price"} <= header:
        return "native"
    raise CatalogFileError(
        "line 1: the header matches no known format (own CSV needs product, sku, "
        "price; WooCommerce needs Type, SKU, Regular price; Shopify needs Handle, "
        "Variant SKU); pass --format"
    )


def _validate(
    reader: Reader, source: _Source, result: LoadResult
) -> tuple[ErrorLog, dict[str, list[str]]]:
    """
    Read every record, counting rows into ``result`` and logging errors.
    Also returns each product's SKUs in the whole file, by record key.
    """
    errors = ErrorLog()
    seen: set[str] = set()
    skus: dict[str, list[str]] = {}
    products: dict[str, tuple[int, str]] = {}  # key -> (line, column)
    for record in reader(source, errors, set()):
        if record.has_fields:
            products.setdefault(record.key, (record.line, record.column))
        for v in record.variants:
            result.rows += 1
            if v.sku in seen:
                errors.add(
                    v.line,
                    v.column,
                    f"SKU {v.sku!r} appears more than once in the file",
                )
            seen.add(v.sku)
            skus.setdefault(record.key, []).append(v.sku)
    for key, (line, column) in products.items():
        if key not in skus:
            errors.add(
                line,
                column,
                "a variable product with no variations in the file: nothing to sell",
            )
    result.errors = sorted(errors.errors, key=lambda e: (e.line, e.column))
    result.error_count = errors.count
    result.skipped_rows = len(errors.lines)
    return errors, skus


def catalog_load(
    *,
    path: Path,
    format: str | None = None,
    encoding: str = "utf-8",
    skip_invalid: bool = False,
    dry_run: bool = False,
    fetch_images: bool = False,
    image_timeout: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """
    Validate the whole file, then upsert its products by SKU.

    Nothing is written when any row is invalid, unless ``skip_invalid``;
    ``dry_run`` does the writes in a transaction that is rolled back, so the
    counts say exactly what would change. ``fetch_images`` copies each new
    image URL into media storage (in parallel, each within ``image_timeout``
    seconds), keeping the URL as its source; never on a dry run. Raises
    CatalogFileError when the file cannot be read at all.
    """
    path = Path(path)
    text_encoding_check(encoding)
    fmt = format or catalog_format_detect(path=path, encoding=encoding)
    if fmt not in READERS:
        raise CatalogFileError(
            f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}"
        )
    reader = READERS[fmt]
    result = LoadResult(format=fmt, dry_run=dry_run)
    size = path.stat().st_size

    def report(phase: int) -> Callable[[int], None] | None:
        if progress is None:
            return None
        # The two passes each take half of the bar.
        return lambda done: progress(phase * size + done, 2 * size)

    # Pass 1: validate everything, write nothing.
    errors, skus = _validate(reader, _Source(path, encoding, report(0)), result)
    if errors.count and not skip_invalid:
        return result

    # Pass 2: write, skipping the lines found invalid.
    writer = _Writer(
        result,
        skus=skus,
        fetch_timeout=image_timeout if fetch_images and not dry_run else None,
    )
    sink = ErrorLog()
    with transaction.atomic():
        for record in reader(_Source(path, encoding, report(1)), sink, errors.lines):
            if record.variants or record.has_fields:
                writer.add(record)
        writer.flush()
        if dry_run:
            transaction.set_rollback(True)
        else:
            writer.index_refresh()
    result.written = not dry_run and result.changed
    return result
