"""
WooCommerce's product CSV export: simple products and variable parents are
products; each variation is a variant of its parent.
"""

from collections.abc import Iterator

from django.utils.text import slugify

from .records import (
    MAX_LENGTHS,
    ErrorLog,
    ProductRecord,
    VariantRecord,
    _category_paths,
    _csv_rows,
    _Row,
    _Source,
    sanitize_html,
)

WOO_REQUIRED = ["ID", "Type", "SKU", "Name", "Regular price"]


def _woo_attributes(row: _Row) -> dict:
    """A variation's options, in the attributes' order."""
    options = {}
    for n in range(1, 10):
        name = row.text(f"Attribute {n} name")
        if name:
            # An empty value is WooCommerce's "Any Size": the variation sells
            # in every size, and the shopper still sees the choice.
            options[name] = row.text(f"Attribute {n} value(s)") or f"Any {name}"
    return options


def _woo_stock(row: _Row) -> tuple[int, bool]:
    """
    (stock, tracked). An empty `Stock` means the store does not count the
    product's stock; `In stock?` then says whether it sells.
    """
    if row.text("Stock") or "In stock?" not in row.data:
        return row.stock("Stock"), True
    selling = row.text("In stock?").lower() in {"1", "yes", "true", "backorder"}
    return 0, not selling


def _woo_description(row: _Row) -> str:
    # The export writes the description's line breaks as a literal "\n".
    return sanitize_html(row.text("Description").replace("\\n", "\n"))


def _woo_records(
    source: _Source, errors: ErrorLog, skip: set[int]
) -> Iterator[ProductRecord]:
    """
    WooCommerce: simple products and variable parents are products; each
    variation is a variant of the parent named in `Parent` (``id:N`` or SKU).
    """
    parents: dict[str, str] = {}  # "id:N" and parent SKU -> product key
    bad_parents: set[str] = set()
    pending: dict[str, list[VariantRecord]] = {}  # variations before their parent
    pending_lines: dict[str, int] = {}
    current: ProductRecord | None = None
    for line, data in _csv_rows(source, errors, required=WOO_REQUIRED):
        if line in skip:
            continue
        row = _Row(line, data, errors)
        kind = row.text("Type", required=True).lower()
        kinds = {k.strip() for k in kind.split(",")}
        woo_id = row.text("ID")
        if "variation" in kinds:
            parent_ref = row.text("Parent", required=True)
            sku = row.sku("SKU", row.text("SKU") or f"WOO-{woo_id or line}")
            regular = row.price("Regular price", required=True)
            sale = row.price("Sale price")
            stock, tracked = _woo_stock(row)
            options = _woo_attributes(row)
            if parent_ref in bad_parents:
                row.fail("Parent", f"its parent {parent_ref!r} is invalid")
            if not row.ok:
                continue
            variant = _woo_variant(line, sku, regular, sale, stock, options, tracked)
            key = parents.get(parent_ref)
            if key is None:
                pending.setdefault(parent_ref, []).append(variant)
                pending_lines.setdefault(parent_ref, line)
            elif current is not None and current.key == key:
                current.variants.append(variant)
            else:
                yield ProductRecord(
                    key=key, line=line, has_fields=False, variants=[variant]
                )
            continue
        if kinds & {"grouped", "external"}:
            continue  # nothing to sell here: grouped lists others, external links out
        name = row.text("Name", required=True, limit=MAX_LENGTHS["name"])
        sku = row.text("SKU")
        description = _woo_description(row)
        categories = _category_paths(row, "Categories", several=True)
        images = row.urls("Images", ",")
        active = row.flag("Published")
        refs = [f"id:{woo_id}"] if woo_id else []
        if sku:
            refs.append(sku)
        key = f"woo:{woo_id or sku or line}"
        if "variable" in kinds:
            row.price("Regular price")
            variants = []
        else:
            sku = row.sku("SKU", sku or f"WOO-{woo_id or line}")
            regular = row.price("Regular price", required=True)
            sale = row.price("Sale price")
            stock, tracked = _woo_stock(row)
            if not row.ok:
                bad_parents.update(refs)
                continue
            variants = [_woo_variant(line, sku, regular, sale, stock, {}, tracked)]
        if not row.ok:
            bad_parents.update(refs)
            continue
        if current is not None:
            yield current
        current = ProductRecord(
            key=key,
            line=line,
            slug=slugify(name)[:200] or key.replace(":", "-"),
            name=name,
            description=description,
            categories=categories,
            active=active,
            images=images,
            variants=variants,
            column="Type",
        )
        for ref in refs:
            parents[ref] = key
            current.variants.extend(pending.pop(ref, []))
            pending_lines.pop(ref, None)
    if current is not None:
        yield current
    for ref, line in pending_lines.items():
        errors.add(line, "Parent", f"the parent product {ref!r} is not in the file")
        for variant in pending[ref][1:]:
            errors.add(
                variant.line, "Parent", f"the parent product {ref!r} is not in the file"
            )


def _woo_variant(line, sku, regular, sale, stock, options, tracked) -> VariantRecord:
    # A sale price is what the shopper pays; the regular price is struck out.
    price, compare = regular, None
    if sale is not None and regular is not None and sale < regular:
        price, compare = sale, regular
    return VariantRecord(
        line, sku, price, compare, stock, options, "SKU", track_inventory=tracked
    )
