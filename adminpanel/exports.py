"""
Dashboard tables, and their download as CSV.

A `Table` is what a page shows and what the CSV holds: the same columns and
rows, so the download always matches the screen.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify

from config.days import shop_zone
from shop.money import CENT

# A spreadsheet runs a cell that starts with one of these as a formula
# (OWASP "CSV injection"); a leading apostrophe makes it plain text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    slug: str
    title: str
    # (header, key, kind): kind is text, int, money, pct or datetime.
    columns: list[tuple[str, str, str]]
    rows: list[dict]
    empty: str = "Nothing in this period."
    note: str = ""
    extra: dict = field(default_factory=dict)

    def cell_values(self, row: dict) -> list:
        return [row.get(key) for _, key, _ in self.columns]


def csv_cell(value, kind: str = "text") -> str | int | float:
    """
    One cell as written to CSV, with formulas neutralised: money with two
    decimals, dates and times in ISO format (local time, with the year).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "money" and isinstance(value, int | float | Decimal):
        return f"{Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)}"
    if isinstance(value, int | float | Decimal):
        # Numbers are data, not formulas: -3 stays -3.
        return value
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, shop_zone()).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_response(*, table: Table, filename: str) -> HttpResponse:
    """The table as UTF-8 CSV with a BOM, so Excel reads accents correctly."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([csv_cell(header) for header, _, _ in table.columns])
    kinds = [kind for _, _, kind in table.columns]
    for row in table.rows:
        writer.writerow(
            [csv_cell(v, k) for v, k in zip(table.cell_values(row), kinds, strict=True)]
        )
    response = HttpResponse(
        buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    safe = slugify(filename) or "export"
    response["Content-Disposition"] = f'attachment; filename="{safe}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
