"""
What every catalogue format shares: the records a reader yields and the writer
takes, the error log, reading a file line by line, CSV rows and a row's
validating accessors.
"""

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import nh3
from django.utils.text import slugify

# Every field but a description is short; a longer cell is a broken file.
MAX_FIELD = 100_000
MAX_LENGTHS = {"name": 200, "sku": 64, "url": 1000, "category": 120, "handle": 200}
MAX_ERRORS_KEPT = 1000
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
    # False when the store does not count this variant's stock: it is
    # always for sale and orders never decrement it.
    track_inventory: bool = True


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
    # The column an error about the product as a whole names (a variable
    # product with no variations).
    column: str = ""

    @classmethod
    def for_handle(
        cls, handle: str, line: int, *, description: str, **fields
    ) -> "ProductRecord":
        """A product the file names by handle, which becomes its slug."""
        return cls(
            key=handle,
            line=line,
            slug=handle.lower(),
            slug_given=True,
            description=sanitize_html(description),
            **fields,
        )


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
    # Images copied into media storage, and those that could not be (they
    # keep their source URL).
    images_fetched: int = 0
    image_errors: list[str] = field(default_factory=list)
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
            or self.images_fetched
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
        """
        The file's lines with their endings (LF, CRLF or an old Mac's lone CR).
        A byte the encoding cannot read stops the file, naming its line.
        """
        done = last_report = 0
        with open(self.path, "rb") as raw:
            text = io.TextIOWrapper(
                raw, encoding=_decoder(self.path, self.encoding), newline=""
            )
            try:
                for self.line, line in enumerate(text, start=1):
                    if self.line == 1:
                        line = line.removeprefix("\ufeff")
                    done = raw.tell()
                    if self.progress and done - last_report >= 1 << 20:
                        self.progress(done)
                        last_report = done
                    yield line
            except UnicodeDecodeError:
                raise CatalogFileError(
                    _decode_error(self.path, self.encoding)
                ) from None
        if self.progress:
            self.progress(done)


def text_encoding_check(encoding: str) -> None:
    """Raise CatalogFileError unless ``encoding`` is a text codec Python knows."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise CatalogFileError(f"unknown encoding {encoding!r}") from None
    if not info._is_text_encoding:
        raise CatalogFileError(f"{encoding!r} is not a text encoding")


def _decoder(path: Path, encoding: str) -> str:
    """The codec to read with: Excel's UTF-8 BOM dropped, UTF-16/32's order."""
    name = codecs.lookup(encoding).name
    if name == "utf-8":
        return "utf-8-sig"
    if name not in {"utf-16", "utf-32"}:
        return encoding
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or (
        name == "utf-16" and head.startswith((codecs.BOM_LE, codecs.BOM_BE))
    ):
        return name  # the codec reads the BOM and drops it
    # No BOM: the text is mostly ASCII, whose zero bytes come first in
    # big-endian order.
    big = head[:1] == b"\0"
    return f"{name}-{'be' if big else 'le'}"


def _decode_error(path: Path, encoding: str) -> str:
    """Name the first line the encoding cannot read, and the byte."""
    hint = "pass --encoding with the file's encoding, e.g. cp1252"
    decoder = _decoder(path, encoding)
    if codecs.lookup(decoder).name.startswith(("utf-16", "utf-32")):
        return f"the file is not valid {encoding}; {hint}"
    with open(path, "rb") as raw:
        for number, chunk in enumerate(raw, start=1):
            try:
                chunk.decode(decoder if number == 1 else encoding)
            except UnicodeDecodeError as exc:
                return (
                    f"line {number}: the file is not valid {encoding} "
                    f"(byte 0x{chunk[exc.start]:02x} at column {exc.start + 1}); "
                    f"{hint}"
                )
    return f"the file is not valid {encoding}; {hint}"


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

    def check_handle(self, column: str, value: str) -> None:
        """A handle names a product in the file and becomes its slug."""
        if value and slugify(value) != value.lower():
            self.fail(
                column,
                f"{value!r} is not a handle (lowercase letters, digits, hyphens)",
            )

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
