"""
Shopify's product CSV: rows grouped by handle, the first carrying the
product, the later ones more variants or only an image.
"""

import hashlib
import json
from collections.abc import Iterator

from .records import (
    MAX_LENGTHS,
    ErrorLog,
    ProductRecord,
    VariantRecord,
    _csv_rows,
    _Row,
    _Source,
)

SHOPIFY_REQUIRED = ["Handle", "Title", "Variant SKU", "Variant Price"]


def _shopify_records(
    source: _Source, errors: ErrorLog, skip: set[int]
) -> Iterator[ProductRecord]:
    """
    Shopify: the first row of a handle carries the product; later rows carry
    more variants or only an image (and may leave the handle empty).
    """
    current: ProductRecord | None = None
    bad_handles: set[str] = set()
    option_names = ["", "", ""]
    for line, data in _csv_rows(source, errors, required=SHOPIFY_REQUIRED):
        if line in skip:
            continue
        row = _Row(line, data, errors)
        handle = row.text("Handle", limit=MAX_LENGTHS["handle"])
        if not handle and current is not None:
            handle = current.key
        if not handle:
            row.fail("Handle", "a value is required")
            continue
        new_product = current is None or current.key != handle
        image = row.urls("Image Src", "\n")
        if new_product:
            option_names = [row.text(f"Option{n} Name") for n in (1, 2, 3)]
        options = {}
        for n in (1, 2, 3):
            value = row.text(f"Option{n} Value")
            if value:
                # Later rows leave the names out; they follow the first row.
                name = row.text(f"Option{n} Name") or option_names[n - 1]
                options[name or f"Option{n}"] = value
        has_variant = bool(
            row.text("Variant SKU") or row.text("Variant Price") or options
        )
        if handle in bad_handles and not new_product:
            row.fail("Handle", "the first row of this product is invalid")
            continue
        variant = None
        if has_variant or new_product:
            price = row.price("Variant Price", required=True)
            compare = row.price("Variant Compare At Price")
            stock = row.stock("Variant Inventory Qty")
            # An empty tracker: Shopify does not count this variant's stock.
            tracked = "Variant Inventory Tracker" not in row.data or bool(
                row.text("Variant Inventory Tracker")
            )
            sku = row.text("Variant SKU")
            if not sku:
                # Stable across runs: the same handle and options, the same SKU.
                digest = hashlib.sha1(
                    json.dumps([handle, sorted(options.items())]).encode()
                ).hexdigest()[:10]
                sku = f"{handle[:40]}-{digest}".upper()
            sku = row.sku("Variant SKU", sku)
            if options == {"Title": "Default Title"}:
                options = {}
            variant = VariantRecord(
                line,
                sku,
                price,
                compare,
                stock,
                options,
                "Variant SKU",
                track_inventory=tracked,
            )
        if new_product:
            title = row.text("Title", required=True, limit=MAX_LENGTHS["name"])
            body = row.text("Body (HTML)")
            product_type = row.text("Type", limit=MAX_LENGTHS["category"])
            active = row.flag("Published")
            row.check_handle("Handle", handle)
            if current is not None:
                yield current
            if not row.ok:
                bad_handles.add(handle)
                current = ProductRecord(key=handle, line=line, has_fields=False)
                continue
            current = ProductRecord.for_handle(
                handle,
                line,
                name=title,
                description=body,
                categories=[[product_type]] if product_type else [],
                active=active,
            )
        if not row.ok:
            continue
        if variant is not None:
            current.variants.append(variant)
        current.images.extend(u for u in image if u not in current.images)
    if current is not None and current.key not in bad_handles:
        yield current
