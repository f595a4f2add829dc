"""
The project's own formats: CSV with one row per variant, and JSON Lines with
one product per line and its variants nested (see docs/catalog-format.md).
"""

import json
from collections.abc import Iterator

from .records import (
    MAX_FIELD,
    MAX_LENGTHS,
    ErrorLog,
    ProductRecord,
    VariantRecord,
    _category_paths,
    _csv_rows,
    _Row,
    _Source,
)


def _native_records(
    source: _Source, errors: ErrorLog, skip: set[int]
) -> Iterator[ProductRecord]:
    """One row per variant; a product's rows are consecutive (see the docs)."""
    current: ProductRecord | None = None
    bad_handles: set[str] = set()
    for line, data in _csv_rows(source, errors, required=["product", "sku", "price"]):
        if line in skip:
            continue
        row = _Row(line, data, errors)
        handle = row.text("product", required=True, limit=MAX_LENGTHS["handle"])
        row.check_handle("product", handle)
        sku = row.sku("sku")
        price = row.price("price", required=True)
        compare = row.price("compare_at_price")
        stock = row.stock("stock")
        tracked = row.flag("track_inventory")
        options = _parse_options(row, "options")
        new_product = current is None or current.key != handle
        name = row.text("name", required=new_product, limit=MAX_LENGTHS["name"])
        description = row.text("description")
        categories = _category_paths(row, "category", several=False)
        images = row.urls("images", "|")
        active = row.flag("active")
        if handle in bad_handles and not new_product:
            row.fail("product", "the first row of this product is invalid")
        if not row.ok:
            if new_product:
                bad_handles.add(handle)
                if current is not None:
                    yield current
                current = ProductRecord(key=handle, line=line, has_fields=False)
            continue
        variant = VariantRecord(
            line, sku, price, compare, stock, options, track_inventory=tracked
        )
        if new_product:
            if current is not None:
                yield current
            current = ProductRecord.for_handle(
                handle,
                line,
                name=name,
                description=description,
                categories=categories,
                active=active,
                images=images,
            )
        elif images:
            current.images.extend(images)
        if current.key not in bad_handles:
            current.variants.append(variant)
    if current is not None:
        yield current


def _parse_options(row: _Row, column: str) -> dict:
    value = row.text(column)
    options = {}
    if not value:
        return options
    for part in value.split(";"):
        if not part.strip():
            continue
        name, sep, option = part.partition("=")
        if not sep or not name.strip() or not option.strip():
            row.fail(column, f"{part.strip()!r} is not name=value")
            continue
        options[name.strip()] = option.strip()
    return options


def _jsonl_records(
    source: _Source, errors: ErrorLog, skip: set[int]
) -> Iterator[ProductRecord]:
    """One product per line, its variants nested."""
    for line, text in enumerate(source.lines(), start=1):
        if line in skip or not text.strip():
            continue
        if len(text) > MAX_FIELD * 10:
            errors.add(line, "", f"the line is longer than {MAX_FIELD * 10} characters")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.add(line, f"character {exc.colno}", f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            errors.add(line, "", "each line must be a JSON object")
            continue
        row = _Row(line, {k: _scalar(v) for k, v in obj.items()}, errors)
        handle = row.text("handle", required=True, limit=MAX_LENGTHS["handle"])
        row.check_handle("handle", handle)
        name = row.text("name", required=True, limit=MAX_LENGTHS["name"])
        description = row.text("description")
        if len(description) > MAX_FIELD:
            row.fail(
                "description", f"the description is longer than {MAX_FIELD} characters"
            )
        category = obj.get("category") or []
        if isinstance(category, str):
            category = [c.strip() for c in category.split(">") if c.strip()]
        if not isinstance(category, list) or not all(
            isinstance(c, str) for c in category
        ):
            row.fail("category", "must be a path 'A > B' or a list of names")
            category = []
        images = obj.get("images") or []
        if not isinstance(images, list):
            row.fail("images", "must be a list of URLs")
            images = []
        row.data["images"] = "|".join(str(u) for u in images)
        images = row.urls("images", "|")
        active = obj.get("active", True)
        if not isinstance(active, bool):
            row.fail("active", "must be true or false")
        variants = obj.get("variants")
        record_variants = []
        if not isinstance(variants, list) or not variants:
            row.fail("variants", "a non-empty list of variants is required")
            variants = []
        for i, variant in enumerate(variants):
            prefix = f"variants[{i}]."
            if not isinstance(variant, dict):
                row.fail(f"variants[{i}]", "must be an object")
                continue
            vrow = _Row(
                line, {prefix + k: _scalar(v) for k, v in variant.items()}, errors
            )
            sku = vrow.sku(prefix + "sku")
            price = vrow.price(prefix + "price", required=True)
            compare = vrow.price(prefix + "compare_at_price")
            stock = vrow.stock(prefix + "stock")
            tracked = vrow.flag(prefix + "track_inventory")
            options = variant.get("options") or {}
            if not isinstance(options, dict):
                vrow.fail(prefix + "options", "must be an object of name: value")
                options = {}
            row.ok = row.ok and vrow.ok
            record_variants.append(
                VariantRecord(line, sku, price, compare, stock,
                              {str(k): str(v) for k, v in options.items()},
                              column=prefix + "sku", track_inventory=tracked)
            )  # fmt: skip
        if row.ok:
            yield ProductRecord.for_handle(
                handle,
                line,
                name=name,
                description=description,
                categories=[category] if category else [],
                active=active,
                images=images,
                variants=record_variants,
            )


def _scalar(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value)
