import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from adminpanel.customer_stats import customer_stats_refresh
from adminpanel.exports import Table, csv_cell, csv_response
from tests.factories import OrderFactory, UserFactory


@pytest.mark.parametrize(
    "value, written",
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("plain", "plain"),
        (-3, -3),
        (Decimal("-1.50"), Decimal("-1.50")),
        (None, ""),
    ],
)
def test_formulas_are_neutralised_but_numbers_kept(value, written):
    assert csv_cell(value) == written


def test_csv_has_a_bom_and_quotes_correctly():
    table = Table(
        slug="t",
        title="T",
        columns=[
            ("Name", "name", "text"),
            ("Note", "note", "text"),
            ("Total", "total", "money"),
        ],
        rows=[
            {
                "name": 'Crème "brûlée", large',
                "note": "line\nbreak",
                "total": Decimal("9.50"),
            }
        ],
    )
    response = csv_response(table=table, filename="Sales report")
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="sales-report.csv"'
    text = raw.decode("utf-8-sig")
    assert '"Crème ""brûlée"", large"' in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["Name", "Note", "Total"],
        ['Crème "brûlée", large', "line\nbreak", "9.50"],
    ]


def test_every_dashboard_table_downloads_as_csv(staff_client, shop_data):
    OrderFactory(
        email="=cmd@example.com",
        user=UserFactory(email="=cmd@example.com"),
        total=Decimal("999.00"),
    )
    customer_stats_refresh()  # top customers come from the customer statistics
    pages = [
        "overview",
        "sales",
        "products",
        "funnel",
        "traffic",
        "search",
        "customers",
    ]
    for page in pages:
        response = staff_client.get(reverse(f"adminpanel:{page}"), {"range": "30d"})
        for table in response.context["data"]["tables"]:
            download = staff_client.get(
                reverse(f"adminpanel:{page}"), {"range": "30d", "export": table.slug}
            )
            assert download.status_code == 200, (page, table.slug)
            assert download.content.startswith(b"\xef\xbb\xbf")
            rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
            assert rows[0] == [header for header, _, _ in table.columns]
            assert len(rows) == len(table.rows) + 1
    customers = staff_client.get(
        reverse("adminpanel:customers"), {"range": "30d", "export": "top-customers"}
    ).content.decode("utf-8-sig")
    assert "'=cmd@example.com" in customers
    searches = staff_client.get(
        reverse("adminpanel:search"), {"range": "30d", "export": "top-queries"}
    ).content.decode("utf-8-sig")
    assert "'=cmd|' /c calc'!a0" in searches


def test_unknown_export_is_a_404(staff_client, db):
    response = staff_client.get(reverse("adminpanel:sales"), {"export": "nope"})
    assert response.status_code == 404


def test_data_and_realtime_tables_export(staff_client, shop_data):
    for page, slug in [("data", "tables"), ("realtime", "latest-events")]:
        response = staff_client.get(reverse(f"adminpanel:{page}"), {"export": slug})
        assert response.status_code == 200
        assert response.content.startswith(b"\xef\xbb\xbf")


def test_csv_writes_money_with_two_decimals_and_periods_with_the_year():
    table = Table(
        slug="t",
        title="T",
        columns=[
            ("Period", "bucket", "period"),
            ("Revenue", "revenue", "money"),
            ("Orders", "orders", "int"),
        ],
        rows=[
            {"bucket": dt.date(2026, 3, 3), "revenue": Decimal("33.9"), "orders": 2},
            {"bucket": dt.date(2026, 3, 4), "revenue": 0, "orders": 0},
            {"bucket": dt.date(2026, 3, 5), "revenue": 12.345, "orders": 1},
        ],
    )

    text = csv_response(table=table, filename="x").content.decode("utf-8-sig")

    assert list(csv.reader(io.StringIO(text)))[1:] == [
        ["2026-03-03", "33.90", "2"],
        ["2026-03-04", "0.00", "0"],
        ["2026-03-05", "12.35", "1"],
    ]


@pytest.mark.django_db
def test_the_sales_export_dates_each_period_with_its_year(staff_client):
    response = staff_client.get(
        reverse("adminpanel:sales"), {"export": "revenue-by-day"}
    )

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Period"
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[0]) for row in rows[1:])
    assert all(re.fullmatch(r"\d+\.\d{2}", row[1]) for row in rows[1:])
    assert len(rows) > 1
