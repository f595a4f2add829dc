"""
Loading catalogues from files: the project's own CSV and JSON Lines formats,
WooCommerce's product CSV export and Shopify's product CSV.

The file is read twice, streaming both times so memory stays bounded:

1. every row is parsed and validated and every error is collected, each
   with its line, column and reason;
2. only if there was none (or with ``skip_invalid``) the products are
   upserted by SKU in batches, inside one transaction.

A second load of the same file finds everything equal and writes nothing.
"""

import codecs
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import nh3
from django.db import transaction
from django.utils.text import slugify

from shop.models import Category, Product, ProductImage, ProductVariant

FORMATS = ("native", "jsonl", "woocommerce", "shopify")
# Every field but a description is short; a longer cell is a broken file.
MAX_FIELD = 100_000
MAX_LENGTHS = {"name": 200, "sku": 64, "url": 1000, "category": 120, "handle": 200}
MAX_ERRORS_KEPT = 1000
BATCH_SIZE = 500
ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "i",
    "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan"}, "th": {"colspan"}}
PRICE_RE = re.compile(r"^\d{1,8}(\.\d{1,2})?$")
INT_RE = re.compile(r"^-?\d+$")


class CatalogFileError(Exception):
    """The file cannot be read at all (encoding, format)."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self):
        column = f", column {self.column}" if self.column else ""
        return f"line {self.line}{column}: {self.message}"


class ErrorLog:
    """Collects errors; keeps the first few in full and every bad line number."""

    def __init__(self):
        self.errors: list[RowError] = []
        self.count = 0
        self.lines: set[int] = set()

    def add(self, line: int, column: str, message: str) -> None:
        self.count += 1
        self.lines.add(line)
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(RowError(line, column, message))


@dataclass
class VariantRecord:
    line: int
    sku: str
    price: Decimal
    compare_at_price: Decimal | None = None
    stock: int = 0
    options: dict = field(default_factory=dict)
    column: str = "sku"


@dataclass
class ProductRecord:
    """One product, or (when ``has_fields`` is false) more variants for it."""

    key: str
    line: int
    slug: str = ""
    # The file names the product's handle: an existing product with that
    # slug is the same product.
    slug_given: bool = False
    name: str = ""
    description: str = ""
    categories: list[list[str]] = field(default_factory=list)
    active: bool = True
    images: list[str] = field(default_factory=list)
    variants: list[VariantRecord] = field(default_factory=list)
    has_fields: bool = True


@dataclass
class LoadResult:
    format: str
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    variants_unchanged: int = 0
    categories_created: int = 0
    images_replaced: int = 0
    skipped_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    written: bool = False
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.products_created
            or self.products_updated
            or self.variants_created
            or self.variants_updated
            or self.categories_created
            or self.images_replaced
        )


# ---------------------------------------------------------------------------
# Reading: lines with their numbers, decoded one at a time so that a wrong
# encoding is reported on the line it occurs.
# ---------------------------------------------------------------------------


class _Source:
    def __init__(
        self, path: Path, encoding: str, progress: Callable[[int], None] | None
    ):
        self.path = path
        self.size = path.stat().st_size
        self.encoding = encoding
        self.progress = progress
        self.line = 0

    def lines(self) -> Iterator[str]:
        encoding = self.encoding
        if codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"  # Excel's BOM is dropped, if present
        done = 0
        last_report = 0
        with open(self.path, "rb") as raw:
            for self.line, chunk in enumerate(raw, start=1):
                try:
                    text = chunk.decode(encoding if self.line == 1 else self.encoding)
                except UnicodeDecodeError as exc:
                    raise CatalogFileError(
                        f"line {self.line}: the file is not valid {self.encoding} "
                        f"(byte 0x{chunk[exc.start]:02x} at column {exc.start + 1}); "
                        "pass --encoding with the file's encoding, e.g. cp1252"
                    ) from None
                done += len(chunk)
                if self.progress and done - last_report >= 1 << 20:
                    self.progress(done)
                    last_report = done
                yield text
        if self.progress:
            self.progress(done)


def _quote_problem_column(text: str, header: list[str]) -> str:
    """Guess which column broke the quoting, by scanning the raw record."""
    index, in_quotes, field_start, closed = 0, False, True, False
    for ch in text:
        if in_quotes:
            if ch == '"':
                in_quotes, closed = False, True
            continue
        if ch == ",":
            index, field_start, closed = index + 1, True, False
            continue
        if ch in "\r\n":
            break
        if ch == '"' and field_start:
            in_quotes, field_start = True, False
            continue
        if closed or ch == '"':
            break
        field_start = False
    return header[index] if index < len(header) else f"#{index + 1}"


def _csv_rows(
    source: _Source, errors: ErrorLog, *, required: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """
    Yield (line, row) for each CSV record after the header; log structural
    errors. Yields nothing when the header lacks a `required` column.
    """
    raw_lines: list[str] = []

    def feed():
        for text in source.lines():
            raw_lines.append(text)
            yield text

    reader = csv.reader(feed(), strict=True)
    old_limit = csv.field_size_limit(max(MAX_FIELD * 10, csv.field_size_limit()))
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise CatalogFileError("line 1: the file is empty") from None
        except csv.Error as exc:
            raise CatalogFileError(
                f"line 1: the header cannot be read ({exc})"
            ) from None
        header = [h.strip() for h in header]
        if not _check_header(header, required, errors):
            return
        while True:
            start = source.line + 1
            raw_lines.clear()
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                text = "".join(raw_lines)
                column = _quote_problem_column(text, header)
                reason = str(exc)
                if "field larger" in reason:
                    reason = f"a field is larger than {MAX_FIELD * 10} characters"
                elif "unexpected end of data" in reason or "EOF" in reason:
                    reason = "a quoted field is never closed (broken quoting)"
                else:
                    reason = f"broken quoting ({reason})"
                errors.add(start, column, reason)
                continue
            if not values or values == [""]:
                continue
            if len(values) > len(header):
                errors.add(
                    start,
                    f"#{len(header) + 1}",
                    f"the row has {len(values)} fields but the header has {len(header)}",
                )
                continue
            row = dict(zip(header, values, strict=False))
            for column, value in row.items():
                if len(value) > MAX_FIELD:
                    errors.add(
                        start,
                        column,
                        f"the value is {len(value)} characters; at most {MAX_FIELD} are allowed",
                    )
                    row = None
                    break
            if row is not None:
                yield start, row
    finally:
        csv.field_size_limit(old_limit)


# ---------------------------------------------------------------------------
# Field parsing helpers: each returns a value or logs an error and returns None
# ---------------------------------------------------------------------------


class _Row:
    """A row's cells with validating accessors that log into ``errors``."""

    def __init__(self, line: int, data: dict[str, str], errors: ErrorLog):
        self.line = line
        self.data = data
        self.errors = errors
        self.ok = True

    def fail(self, column: str, message: str) -> None:
        self.ok = False
        self.errors.add(self.line, column, message)

    def text(
        self, column: str, *, required: bool = False, limit: int | None = None
    ) -> str:
        value = (self.data.get(column) or "").strip()
        if required and not value:
            self.fail(column, "a value is required")
        if limit and len(value) > limit:
            self.fail(
                column,
                f"the value is {len(value)} characters; at most {limit} are allowed",
            )
        return value

    def price(self, column: str, *, required: bool = False) -> Decimal | None:
        value = self.text(column, required=required)
        if not value:
            return None
        if not PRICE_RE.match(value):
            hint = " (use a dot for decimals)" if "," in value else ""
            self.fail(column, f"{value!r} is not a price like 12.50{hint}")
            return None
        return Decimal(value).quantize(Decimal("0.01"))

    def stock(self, column: str) -> int:
        value = self.text(column)
        if not value:
            return 0
        if not INT_RE.match(value):
            self.fail(column, f"{value!r} is not a whole number")
            return 0
        number = int(value)
        if number < 0:
            self.fail(column, f"stock cannot be negative ({number})")
            return 0
        if number > 2**31 - 1:
            self.fail(column, f"stock {number} is too large")
            return 0
        return number

    def flag(self, column: str, default: bool = True) -> bool:
        value = self.text(column).lower()
        if not value:
            return default
        if value in {"1", "true", "yes", "y"}:
            return True
        if value in {"0", "-1", "false", "no", "n"}:
            return False
        self.fail(column, f"{value!r} is not true or false")
        return default

    def sku(self, column: str, value: str | None = None) -> str:
        value = self.text(column, required=value is None) if value is None else value
        if len(value) > MAX_LENGTHS["sku"]:
            self.fail(column, f"the SKU is longer than {MAX_LENGTHS['sku']} characters")
        return value

    def urls(self, column: str, separator: str) -> list[str]:
        urls = [u.strip() for u in self.text(column).split(separator) if u.strip()]
        for url in urls:
            if not re.match(r"^https?://\S+$", url):
                self.fail(column, f"{url!r} is not an http(s) URL")
            elif len(url) > MAX_LENGTHS["url"]:
                self.fail(column, "the URL is longer than 1000 characters")
        return urls


def _category_paths(row: _Row, column: str, *, several: bool) -> list[list[str]]:
    value = row.text(column)
    if not value:
        return []
    parts = [value]
    if several:
        # WooCommerce separates categories with commas; "\," is a literal one.
        parts = [p.replace("\\,", ",") for p in re.split(r"(?<!\\),", value)]
    paths = []
    for part in parts:
        names = [n.strip() for n in part.split(">") if n.strip()]
        for name in names:
            if len(name) > MAX_LENGTHS["category"]:
                row.fail(column, f"category name {name[:30]!r}... is too long")
        if names:
            paths.append(names)
    return paths


def sanitize_html(html: str) -> str:
    """Keep an allowlist of tags and attributes; drop scripts, styles, events."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()


def _check_header(header: list[str], required: list[str], errors: ErrorLog) -> bool:
    missing = [c for c in required if c not in header]
    for column in missing:
        errors.add(1, column, "this required column is missing from the header")
    return not missing


# ---------------------------------------------------------------------------
# Formats. Each yields ProductRecords and logs every error it sees; lines in
# ``skip`` (found invalid by the first pass) are passed over.
# ---------------------------------------------------------------------------


def _native_records(source, errors, skip) -> Iterator[ProductRecord]:
    """One row per variant; a product's rows are consecutive (see the docs)."""
    current: ProductRecord | None = None
    bad_handles: set[str] = set()
    for line, data in _csv_rows(source, errors, required=["product", "sku", "price"]):
        if line in skip:
            continue
        row = _Row(line, data, errors)
        handle = row.text("product", required=True, limit=MAX_LENGTHS["handle"])
        if handle and slugify(handle) != handle.lower():
            row.fail(
                "product",
                f"{handle!r} is not a handle (lowercase letters, digits, hyphens)",
            )
        sku = row.sku("sku")
        price = row.price("price", required=True)
        compare = row.price("compare_at_price")
        stock = row.stock("stock")
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
        variant = VariantRecord(line, sku, price, compare, stock, options)
        if new_product:
            if current is not None:
                yield current
            current = ProductRecord(
                key=handle,
                line=line,
                slug=handle.lower(),
                slug_given=True,
                name=name,
                description=sanitize_html(description),
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


def _jsonl_records(source, errors, skip) -> Iterator[ProductRecord]:
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
        if handle and slugify(handle) != handle.lower():
            row.fail(
                "handle",
                f"{handle!r} is not a handle (lowercase letters, digits, hyphens)",
            )
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
            options = variant.get("options") or {}
            if not isinstance(options, dict):
                vrow.fail(prefix + "options", "must be an object of name: value")
                options = {}
            row.ok = row.ok and vrow.ok
            record_variants.append(
                VariantRecord(line, sku, price, compare, stock,
                              {str(k): str(v) for k, v in options.items()},
                              column=prefix + "sku")
            )  # fmt: skip
        if row.ok:
            yield ProductRecord(
                key=handle,
                line=line,
                slug=handle.lower(),
                slug_given=True,
                name=name,
                description=sanitize_html(description),
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


WOO_REQUIRED = ["ID", "Type", "SKU", "Name", "Regular price"]


def _woo_attributes(row: _Row) -> dict:
    options = {}
    for n in range(1, 10):
        name = row.text(f"Attribute {n} name")
        value = row.text(f"Attribute {n} value(s)")
        if name and value:
            options[name] = value
    return options


def _woo_records(source, errors, skip) -> Iterator[ProductRecord]:
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
            stock = row.stock("Stock")
            options = _woo_attributes(row)
            if parent_ref in bad_parents:
                row.fail("Parent", f"its parent {parent_ref!r} is invalid")
            if not row.ok:
                continue
            variant = _woo_variant(line, sku, regular, sale, stock, options)
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
        description = row.text("Description")
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
            stock = row.stock("Stock")
            if not row.ok:
                bad_parents.update(refs)
                continue
            variants = [_woo_variant(line, sku, regular, sale, stock, {})]
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
            description=sanitize_html(description),
            categories=categories,
            active=active,
            images=images,
            variants=variants,
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


def _woo_variant(line, sku, regular, sale, stock, options) -> VariantRecord:
    # A sale price is what the shopper pays; the regular price is struck out.
    if sale is not None and regular is not None and sale < regular:
        return VariantRecord(line, sku, sale, regular, stock, options, column="SKU")
    return VariantRecord(line, sku, regular, None, stock, options, column="SKU")


SHOPIFY_REQUIRED = ["Handle", "Title", "Variant SKU", "Variant Price"]


def _shopify_records(source, errors, skip) -> Iterator[ProductRecord]:
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
                line, sku, price, compare, stock, options, column="Variant SKU"
            )
        if new_product:
            title = row.text("Title", required=True, limit=MAX_LENGTHS["name"])
            body = row.text("Body (HTML)")
            product_type = row.text("Type", limit=MAX_LENGTHS["category"])
            active = row.flag("Published")
            if slugify(handle) != handle.lower():
                row.fail(
                    "Handle",
                    f"{handle!r} is not a handle (lowercase letters, digits, hyphens)",
                )
            if current is not None:
                yield current
            if not row.ok:
                bad_handles.add(handle)
                current = ProductRecord(key=handle, line=line, has_fields=False)
                continue
            current = ProductRecord(
                key=handle,
                line=line,
                slug=handle.lower(),
                slug_given=True,
                name=title,
                description=sanitize_html(body),
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


READERS = {
    "native": _native_records,
    "jsonl": _jsonl_records,
    "woocommerce": _woo_records,
    "shopify": _shopify_records,
}


def catalog_format_detect(*, path: Path, encoding: str = "utf-8") -> str:
    """Tell the format from the first line: JSON, or the CSV header's columns."""
    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    try:
        text = first.decode(
            "utf-8-sig"
            if encoding.lower().replace("_", "-") in {"utf-8", "utf8"}
            else encoding
        )
    except UnicodeDecodeError:
        raise CatalogFileError(
            f"line 1: the file is not valid {encoding}; pass --encoding"
        ) from None
    if text.lstrip().startswith("{"):
        return "jsonl"
    header = {h.strip() for h in next(csv.reader(io.StringIO(text)), [])}
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


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


class _Writer:
    def __init__(self, result: LoadResult):
        self.result = result
        self.keys: dict[str, int] = {}  # record key -> product id
        self.categories: dict[tuple[str, ...], int] = {}
        self.batch: list[ProductRecord] = []
        self.batch_keys: set[str] = set()
        self.touched: set[int] = set()

    def add(self, record: ProductRecord) -> None:
        if record.key in self.batch_keys or len(self.batch) >= BATCH_SIZE:
            self.flush()
        self.batch.append(record)
        self.batch_keys.add(record.key)

    def category_id(self, names: list[str]) -> int:
        path = tuple(names)
        if path in self.categories:
            return self.categories[path]
        parent_id = self.category_id(names[:-1]) if len(names) > 1 else None
        category = Category.objects.filter(parent_id=parent_id, name=names[-1]).first()
        if category is None:
            parent = Category.objects.get(pk=parent_id) if parent_id else None
            base = slugify(names[-1])[:120] or "category"
            slug = base
            if Category.objects.filter(slug=slug).exists() and parent is not None:
                slug = f"{parent.slug}-{base}"[:130]
            n = 2
            while Category.objects.filter(slug=slug).exists():
                slug = f"{base}-{n}"
                n += 1
            category = Category(parent=parent, name=names[-1], slug=slug)
            category.save()
            self.result.categories_created += 1
        self.categories[path] = category.pk
        return category.pk

    def _unique_slug(self, base: str, taken: set[str]) -> str:
        slug, n = base, 2
        while slug in taken or Product.objects.filter(slug=slug).exists():
            slug = f"{base[:200]}-{n}"
            n += 1
        taken.add(slug)
        return slug

    def flush(self) -> None:
        batch, self.batch, self.batch_keys = self.batch, [], set()
        if not batch:
            return
        result = self.result
        skus = [v.sku for r in batch for v in r.variants]
        existing = {v.sku: v for v in ProductVariant.objects.filter(sku__in=skus)}
        # Which product each record is: seen earlier in this file, owning one
        # of its SKUs already, or (for a given handle) holding that slug.
        pids: dict[str, int] = {}
        for r in batch:
            pid = self.keys.get(r.key)
            if pid is None:
                pid = next(
                    (
                        existing[v.sku].product_id
                        for v in r.variants
                        if v.sku in existing
                    ),
                    None,
                )
            if pid is not None:
                pids[r.key] = pid
        by_slug = {
            p.slug: p.pk
            for p in Product.objects.filter(
                slug__in=[r.slug for r in batch if r.slug_given and r.key not in pids]
            ).only("pk", "slug")
        }
        for r in batch:
            if r.key not in pids and r.slug in by_slug and r.slug_given:
                pids[r.key] = by_slug[r.slug]
        products = Product.objects.in_bulk(list(pids.values()))
        new_products: list[tuple[ProductRecord, Product]] = []
        changed_products: list[Product] = []
        taken: set[str] = set()
        fields = ["name", "description", "category_id", "is_active"]
        for r in batch:
            if not r.has_fields:
                continue
            category_id = (
                self.category_id(r.categories[0])
                if r.categories
                else self.category_id(["Uncategorised"])
            )
            for extra in r.categories[1:]:
                self.category_id(extra)
            values = {
                "name": r.name,
                "description": r.description,
                "category_id": category_id,
                "is_active": r.active,
            }
            product = products.get(pids.get(r.key))
            if product is None:
                slug = self._unique_slug(r.slug or "product", taken)
                new_products.append((r, Product(slug=slug, **values)))
            elif any(getattr(product, f) != v for f, v in values.items()):
                for f, v in values.items():
                    setattr(product, f, v)
                changed_products.append(product)
            else:
                result.products_unchanged += 1
        if new_products:
            created = Product.objects.bulk_create([p for _, p in new_products])
            for (r, _), product in zip(new_products, created, strict=True):
                pids[r.key] = product.pk
                self.touched.add(product.pk)
            result.products_created += len(created)
        if changed_products:
            Product.objects.bulk_update(changed_products, fields)
            self.touched.update(p.pk for p in changed_products)
            result.products_updated += len(changed_products)
        for r in batch:
            if r.key in pids:
                self.keys[r.key] = pids[r.key]

        new_variants, changed_variants = [], []
        vfields = [
            "product_id",
            "options",
            "price",
            "compare_at_price",
            "stock",
            "position",
        ]
        for r in batch:
            pid = pids.get(r.key)
            if pid is None:
                continue
            base = (
                0
                if r.has_fields
                else ProductVariant.objects.filter(product_id=pid).count()
            )
            for position, v in enumerate(r.variants, start=base):
                old = existing.get(v.sku)
                if not r.has_fields and old is not None:
                    # More variants of a product written earlier: keep the
                    # place they already have, so a rerun changes nothing.
                    position = old.position
                values = {
                    "product_id": pid,
                    "options": v.options,
                    "price": v.price,
                    "compare_at_price": v.compare_at_price,
                    "stock": v.stock,
                    "position": position,
                }
                if old is None:
                    new_variants.append(ProductVariant(sku=v.sku, **values))
                    self.touched.add(pid)
                elif any(getattr(old, f) != val for f, val in values.items()):
                    self.touched.update({pid, old.product_id})
                    for f, val in values.items():
                        setattr(old, f, val)
                    changed_variants.append(old)
                else:
                    result.variants_unchanged += 1
        if new_variants:
            ProductVariant.objects.bulk_create(new_variants)
            result.variants_created += len(new_variants)
        if changed_variants:
            ProductVariant.objects.bulk_update(changed_variants, vfields)
            result.variants_updated += len(changed_variants)

        with_images = {
            pids[r.key]: r.images for r in batch if r.images and r.key in pids
        }
        if with_images:
            current: dict[int, list[str]] = {}
            for pid, url in ProductImage.objects.filter(
                product_id__in=with_images, image=""
            ).values_list("product_id", "url"):
                current.setdefault(pid, []).append(url)
            replace = [
                pid for pid, urls in with_images.items() if current.get(pid, []) != urls
            ]
            if replace:
                ProductImage.objects.filter(product_id__in=replace, image="").delete()
                ProductImage.objects.bulk_create(
                    ProductImage(product_id=pid, url=url, position=i)
                    for pid in replace
                    for i, url in enumerate(with_images[pid])
                )
                self.touched.update(replace)
                result.images_replaced += len(replace)


def catalog_load(
    *,
    path: Path,
    format: str | None = None,
    encoding: str = "utf-8",
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """
    Validate the whole file, then upsert its products by SKU.

    Nothing is written when any row is invalid, unless ``skip_invalid``;
    ``dry_run`` does the writes in a transaction that is rolled back, so the
    counts say exactly what would change. Raises CatalogFileError when the
    file cannot be read at all.
    """
    from shop.services import product_index_refresh

    path = Path(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CatalogFileError(f"unknown encoding {encoding!r}") from None
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
    errors = ErrorLog()
    seen: set[str] = set()
    for record in reader(_Source(path, encoding, report(0)), errors, set()):
        for v in record.variants:
            result.rows += 1
            if v.sku in seen:
                errors.add(
                    v.line,
                    v.column,
                    f"SKU {v.sku!r} appears more than once in the file",
                )
            seen.add(v.sku)
    del seen
    result.errors = sorted(errors.errors, key=lambda e: (e.line, e.column))
    result.error_count = errors.count
    result.skipped_rows = len(errors.lines)
    if errors.count and not skip_invalid:
        return result

    # Pass 2: write, skipping the lines found invalid.
    writer = _Writer(result)
    sink = ErrorLog()
    with transaction.atomic():
        for record in reader(_Source(path, encoding, report(1)), sink, errors.lines):
            if record.variants or record.has_fields:
                writer.add(record)
        writer.flush()
        if writer.touched and not dry_run:
            product_index_refresh(product_ids=sorted(writer.touched))
        if dry_run:
            transaction.set_rollback(True)
    result.written = not dry_run and result.changed
    return result
