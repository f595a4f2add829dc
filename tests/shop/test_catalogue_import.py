import contextlib
import csv
import random
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shop.catalogue_import import catalog_load
from shop.models import Category, Product, ProductImage, ProductVariant
from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

NATIVE = """product,sku,name,description,category,price,compare_at_price,stock,options,images,active
linen-shirt,LS-S,Linen shirt,"<p>Cool <script>x()</script><a href=""javascript:alert(1)"" onclick=""y"">linen</a></p>",Clothing > Shirts,30.00,40.00,4,size=S,https://img.example.com/a.jpg|https://img.example.com/b.jpg,true
linen-shirt,LS-M,,,,30.00,,0,size=M,,
mug,MUG,"Mug, large",,Kitchen,8.5,,12,,,1
"""

WOO = """ID,Type,SKU,Name,Published,Description,Regular price,Sale price,Categories,Images,Stock,Parent,Attribute 1 name,Attribute 1 value(s)
10,variable,TEE,Organic tee,1,<b>Soft</b>,,,"Clothing > Tops, Sale","https://img.example.com/t1.jpg, https://img.example.com/t2.jpg",,,Size,"S, M"
11,variation,TEE-S,Organic tee - S,1,,20.00,15.00,,,5,id:10,Size,S
13,simple,CUP-1,Cup,0,Plain,8.50,,Kitchen,,3,,,
12,variation,TEE-M,Organic tee - M,1,,20.00,,,,7,TEE,Size,M
"""

SHOPIFY = """Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Variant SKU,Variant Price,Variant Compare At Price,Variant Inventory Qty,Image Src,Image Position
wool-hat,Wool hat,<p>Warm</p>,Acme,Hats,winter,TRUE,Colour,Red,Size,S,HAT-RED-S,25.00,30.00,3,https://img.example.com/h1.jpg,1
wool-hat,,,,,,,,Blue,,S,,25.00,,2,https://img.example.com/h2.jpg,2
wool-hat,,,,,,,,,,,,,,,https://img.example.com/h3.jpg,3
,,,,,,,,,,,,,,,https://img.example.com/h4.jpg,4
scarf,Scarf,,Acme,,,TRUE,Title,Default Title,,,,12.00,,1,,
"""


def write(tmp_path, text, name="catalog.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_native_csv_creates_products_variants_categories_and_images(tmp_path):
    result = catalog_load(path=write(tmp_path, NATIVE))
    assert result.format == "native"
    assert (result.products_created, result.variants_created) == (2, 3)
    shirt = Product.objects.get(slug="linen-shirt")
    assert shirt.category.path == "clothing/shirts"
    assert list(shirt.images.values_list("url", flat=True)) == [
        "https://img.example.com/a.jpg",
        "https://img.example.com/b.jpg",
    ]
    assert shirt.primary_image_url == "https://img.example.com/a.jpg"
    assert shirt.price_from == Decimal("30.00") and shirt.in_stock
    small = ProductVariant.objects.get(sku="LS-S")
    assert small.options == {"size": "S"} and small.compare_at_price == Decimal("40.00")
    # Sanitised with an allowlist: no script, no javascript: URL, no handler.
    assert "script" not in shirt.description and "javascript" not in shirt.description
    assert "onclick" not in shirt.description and "<p>" in shirt.description
    assert Product.objects.get(slug="mug").name == "Mug, large"


def test_second_load_of_the_same_file_changes_nothing(tmp_path):
    path = write(tmp_path, NATIVE)
    catalog_load(path=path)
    stamps = dict(Product.objects.values_list("slug", "updated_at"))
    out = __import__("io").StringIO()
    call_command("load_catalog", str(path), stdout=out)
    assert "Nothing to change" in out.getvalue()
    assert dict(Product.objects.values_list("slug", "updated_at")) == stamps
    assert ProductVariant.objects.count() == 3 and ProductImage.objects.count() == 2


def test_upsert_by_sku_updates_an_existing_variant(tmp_path):
    existing = VariantFactory(
        sku="LS-S", price=Decimal("99.00"), product=ProductFactory(slug="old")
    )
    result = catalog_load(path=write(tmp_path, NATIVE))
    existing.refresh_from_db()
    assert existing.price == Decimal("30.00")
    assert existing.product.slug == "old"  # the product that owns the SKU is updated
    assert result.variants_updated == 1 and result.variants_created == 2


def test_bom_from_excel_is_accepted(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + NATIVE.encode())
    assert catalog_load(path=path).products_created == 2


def test_wrong_encoding_names_the_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(NATIVE.replace("Mug, large", "Mug, café").encode("cp1252"))
    with pytest.raises(
        CommandError, match=r"line 4: the file is not valid utf-8.*--encoding"
    ):
        call_command("load_catalog", str(path))
    assert not Product.objects.exists()
    call_command("load_catalog", str(path), "--encoding", "cp1252", verbosity=0)
    assert Product.objects.get(slug="mug").name == "Mug, café"


def test_every_bad_row_is_reported_with_line_and_column_and_nothing_written(
    tmp_path, capsys
):
    bad = (
        "product,sku,name,price,stock\n"
        "a,A1,Alpha,12,5,1\n"  # too many fields
        "b,B1,Beta,12,5,2\n"[:-3]
        + "\n"
        "c,C1,Gamma,abc,1\n"
        "d,D1,Delta,5.00,-3\n"
        "e,A2,Eps,1.00,1\n"
        "e,A2,Eps,1.00,1\n"
        'f,F1,"Broken"quote,1.00,1\n'
        "g,G1," + "x" * 300 + ",1.00,1\n"
        'h,H1,Eta,"12,5",1\n'
    )
    path = write(tmp_path, bad)
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("load_catalog", str(path))
    err = capsys.readouterr().err
    assert "line 2, column #6: the row has 6 fields" in err
    assert "line 4, column price: 'abc' is not a price" in err
    assert "line 5, column stock: stock cannot be negative" in err
    assert "line 7, column sku: SKU 'A2' appears more than once" in err
    assert "line 8, column name: broken quoting" in err
    assert "line 9, column name: the value is 300 characters" in err
    assert "line 10, column price: '12,5' is not a price like 12.50 (use a dot" in err
    assert not Product.objects.exists() and not Category.objects.exists()


def test_skip_invalid_writes_the_valid_rows_and_lists_the_others(tmp_path, capsys):
    path = write(tmp_path, "product,sku,name,price\nok,OK1,Fine,1.00\nbad,B1,Bad,-1\n")
    call_command("load_catalog", str(path), "--skip-invalid")
    assert "line 3, column price" in capsys.readouterr().err
    assert list(ProductVariant.objects.values_list("sku", flat=True)) == ["OK1"]


def test_missing_required_column_and_unclosed_quote(tmp_path, capsys):
    with pytest.raises(CommandError):
        call_command(
            "load_catalog",
            str(write(tmp_path, "product,sku,name\na,A,Alpha\n")),
            "--format",
            "native",
        )
    assert (
        "line 1, column price: this required column is missing"
        in capsys.readouterr().err
    )
    with pytest.raises(CommandError):
        call_command(
            "load_catalog",
            str(
                write(
                    tmp_path, 'product,sku,name,price\na,A,"Alpha,1.00\nb,B,Beta,2.00\n'
                )
            ),
        )
    assert (
        "line 2, column name: a quoted field is never closed" in capsys.readouterr().err
    )
    assert not Product.objects.exists()


def test_dry_run_reports_changes_and_writes_nothing(tmp_path, capsys):
    call_command("load_catalog", str(write(tmp_path, NATIVE)), "--dry-run")
    out = capsys.readouterr().out
    assert "Products: 2 created" in out and "Dry run" in out
    assert not Product.objects.exists() and not Category.objects.exists()


def test_woocommerce_variations_attach_to_their_parents(tmp_path):
    result = catalog_load(path=write(tmp_path, WOO))
    assert result.format == "woocommerce" and result.error_count == 0
    tee = Product.objects.get(name="Organic tee")
    assert {v.sku: v.options for v in tee.variants.all()} == {
        "TEE-S": {"Size": "S"},
        "TEE-M": {"Size": "M"},
    }
    sale = ProductVariant.objects.get(sku="TEE-S")
    assert (sale.price, sale.compare_at_price) == (Decimal("15.00"), Decimal("20.00"))
    assert ProductVariant.objects.get(sku="TEE-M").compare_at_price is None
    assert tee.category.path == "clothing/tops"
    assert Category.objects.filter(slug="sale", parent=None).exists()
    assert tee.images.count() == 2
    assert Product.objects.get(name="Cup").is_active is False
    assert catalog_load(path=write(tmp_path, WOO)).changed is False


def test_woocommerce_variation_with_missing_parent_is_an_error(tmp_path):
    text = WOO + "14,variation,TEE-L,Organic tee - L,1,,20.00,,,,1,id:99,Size,L\n"
    result = catalog_load(path=write(tmp_path, text))
    assert [str(e) for e in result.errors] == [
        "line 6, column Parent: the parent product 'id:99' is not in the file"
    ]
    assert not Product.objects.exists()


def test_shopify_rows_group_by_handle_with_images_and_generated_skus(tmp_path):
    result = catalog_load(path=write(tmp_path, SHOPIFY))
    assert result.format == "shopify" and result.error_count == 0
    hat = Product.objects.get(slug="wool-hat")
    variants = list(hat.variants.all())
    assert [v.options for v in variants] == [
        {"Colour": "Red", "Size": "S"},
        {"Colour": "Blue", "Size": "S"},
    ]
    assert variants[0].compare_at_price == Decimal("30.00")
    assert variants[1].sku.startswith("WOOL-HAT-")
    assert list(hat.images.values_list("url", flat=True)) == [
        f"https://img.example.com/h{i}.jpg" for i in range(1, 5)
    ]
    assert hat.category.name == "Hats"
    scarf = Product.objects.get(slug="scarf").variants.get()
    assert scarf.options == {}
    generated = variants[1].sku
    catalog_load(path=write(tmp_path, SHOPIFY))
    assert ProductVariant.objects.filter(sku=generated).count() == 1
    assert ProductVariant.objects.count() == 3


def test_json_lines_with_field_paths_in_errors(tmp_path):
    good = '{"handle": "kettle", "name": "Kettle", "category": "Kitchen > Appliances", "images": ["https://img.example.com/k.jpg"], "variants": [{"sku": "K1", "price": "25.00", "stock": 2, "options": {"colour": "steel"}}]}\n'
    bad = '{"handle": "pan", "name": "Pan", "variants": [{"sku": "P1", "price": 12.5}, {"sku": "P2", "price": "x", "stock": -1}]}\n{not json\n'
    result = catalog_load(path=write(tmp_path, good + bad, "c.jsonl"))
    assert result.format == "jsonl"
    assert [str(e) for e in result.errors] == [
        "line 2, column variants[1].price: 'x' is not a price like 12.50",
        "line 2, column variants[1].stock: stock cannot be negative (-1)",
        "line 3, column character 2: not valid JSON (Expecting property name enclosed in double quotes)",
    ]
    assert not Product.objects.exists()
    assert catalog_load(path=write(tmp_path, good, "c.jsonl")).products_created == 1
    assert Product.objects.get(slug="kettle").category.path == "kitchen/appliances"


# ---------------------------------------------------------------------------
# Real exports: the fixtures in tests/shop/catalogues/
# ---------------------------------------------------------------------------

CATALOGUES = Path(__file__).parent / "catalogues"


def catalogue_state() -> dict:
    """Everything an import writes, keyed by what is stable across runs."""
    return {
        "products": sorted(
            Product.objects.values_list(
                "slug", "name", "description", "category__path", "is_active",
                "price_from", "in_stock", "primary_image_url", "updated_at",
            )
        ),
        "variants": sorted(
            (v.sku, v.product.slug, v.label, v.options, v.price, v.compare_at_price,
             v.stock, v.track_inventory, v.position)
            for v in ProductVariant.objects.select_related("product")
        ),
        "images": sorted(
            ProductImage.objects.values_list("product__slug", "url", "image", "position")
        ),
        "categories": sorted(Category.objects.values_list("path", flat=True)),
    }  # fmt: skip


def shuffled(path: Path, seed: int, tmp_path: Path, *, blocks_by=None) -> Path:
    """
    The same export with its rows in another order. With ``blocks_by``
    (Shopify, whose later rows of a handle follow its first), the products
    and the later rows of each are shuffled, the first row staying first.
    """
    rng = random.Random(seed)
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    if blocks_by is None:
        rng.shuffle(rows)
    else:
        column = header.index(blocks_by)
        blocks: dict[str, list] = {}
        for row in rows:
            blocks.setdefault(row[column], []).append(row)
        order = list(blocks.values())
        rng.shuffle(order)
        rows = []
        for first, *rest in order:
            rng.shuffle(rest)
            rows += [first, *rest]
    out = tmp_path / f"shuffled-{seed}-{path.name}"
    with open(out, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return out


@pytest.mark.parametrize(
    ("name", "blocks_by", "products", "variants"),
    [
        ("woocommerce_2024.csv", None, 4, 6),
        ("shopify_products.csv", "Handle", 3, 6),
    ],
)
def test_reimporting_an_export_in_any_row_order_changes_nothing(
    tmp_path, name, blocks_by, products, variants
):
    first = catalog_load(path=CATALOGUES / name)
    assert first.error_count == 0, first.errors
    assert (Product.objects.count(), ProductVariant.objects.count()) == (
        products,
        variants,
    )
    before = catalogue_state()
    for seed in range(4):
        result = catalog_load(
            path=shuffled(CATALOGUES / name, seed, tmp_path, blocks_by=blocks_by)
        )
        assert result.error_count == 0, result.errors
        assert not result.changed, (seed, result)
        assert catalogue_state() == before, seed


def test_woocommerce_export_keeps_stock_tracking_option_order_and_line_breaks():
    catalog_load(path=CATALOGUES / "woocommerce_2024.csv")
    hoodie = Product.objects.get(name="Hoodie")
    assert [v.label for v in hoodie.variants.all()] == [
        "Red / No",
        "Blue / Yes",
        "Green / Any Logo",
    ]
    assert hoodie.category.path == "clothing/hoodies"
    assert "\\n" not in hoodie.description
    assert "Soft fleece inside.\n\nMachine washable." in hoodie.description
    red, blue = hoodie.variants.all()[:2]
    assert (red.price, red.compare_at_price) == (Decimal("40.00"), Decimal("45.00"))
    assert (red.stock, red.track_inventory) == (4, True)
    # An empty Stock with "In stock? = 1": the store does not count it.
    assert (blue.stock, blue.track_inventory, blue.in_stock) == (0, False, True)
    album = Product.objects.get(name="Album")
    assert album.in_stock and not album.variants.get().track_inventory
    cap = Product.objects.get(name="Cap").variants.get()
    assert cap.track_inventory and not cap.in_stock
    assert not Product.objects.get(name="Cap").in_stock
    beanie = Product.objects.get(name="Beanie")
    assert beanie.category.path == "clothing/accessories/hats"
    assert not Product.objects.filter(name__in=["Logo collection", "Poster"]).exists()


def test_shopify_inventory_tracker_maps_to_track_inventory():
    catalog_load(path=CATALOGUES / "shopify_products.csv")
    tracked = dict(ProductVariant.objects.values_list("sku", "track_inventory"))
    assert tracked["SHIRT-XS"] and tracked["SHIRT-S"] and not tracked["SHIRT-M"]
    gift = Product.objects.get(slug="gift-card").variants.get()
    assert not gift.track_inventory and gift.in_stock


WOO_HEADER = (
    "ID,Type,SKU,Name,Published,Description,In stock?,Stock,Regular price,"
    "Categories,Parent,Attribute 1 name,Attribute 1 value(s)\n"
)


def test_variable_product_without_variations_is_refused_or_skipped_by_line(
    tmp_path, capsys
):
    path = write(
        tmp_path,
        WOO_HEADER
        + '1,variable,EMPTY,Empty tee,1,,1,,,Tops,,Size,"S, M"\n'
        + "2,simple,MUG,Mug,1,,1,3,8.00,Kitchen,,,\n",
    )
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("load_catalog", str(path))
    assert (
        "line 2, column Type: a variable product with no variations"
        in capsys.readouterr().err
    )
    assert not Product.objects.exists()
    call_command("load_catalog", str(path), "--skip-invalid", verbosity=0)
    assert list(Product.objects.values_list("name", flat=True)) == ["Mug"]


# ---------------------------------------------------------------------------
# Encodings and broken input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(NATIVE.encode("utf-16"), id="utf-16 with BOM"),
        pytest.param(NATIVE.encode("utf-16-le"), id="utf-16 little-endian, no BOM"),
        pytest.param(NATIVE.encode("utf-16-be"), id="utf-16 big-endian, no BOM"),
    ],
)
def test_utf16_files_load_with_or_without_a_bom(tmp_path, raw):
    path = tmp_path / "catalog.csv"
    path.write_bytes(raw)
    call_command("load_catalog", str(path), "--encoding", "utf-16", verbosity=0)
    assert Product.objects.count() == 2 and ProductVariant.objects.count() == 3


def test_old_mac_line_endings_load(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(NATIVE.replace("\n", "\r").encode())
    assert catalog_load(path=path).products_created == 2
    assert Product.objects.get(slug="mug").name == "Mug, large"


@pytest.mark.parametrize(
    "raw", [b"", b"\xef\xbb\xbf", b"\n\n", "\ufeff".encode("utf-16")]
)
def test_an_empty_file_says_so(tmp_path, raw):
    path = tmp_path / "empty.csv"
    path.write_bytes(raw)
    encoding = "utf-16" if raw.startswith(b"\xff\xfe") else "utf-8"
    with pytest.raises(CommandError, match="the file is empty"):
        call_command("load_catalog", str(path), "--encoding", encoding)


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (b"\x00\x01\x02\xff\xfe" * 50, "utf-8"),
        (b"product,sku,price\n\x00a,b,1\n", "utf-8"),
        (b'product,sku,price\nx,"y\x00",1\n', "utf-8"),
        (b"\xff\xfeA\x00", "utf-16"),
        (b"\xff\xfe" + b"\x00\xd8" * 3, "utf-16"),
        (b"product,sku,price\n" + b"a," * 5000 + b"\n", "utf-8"),
        (b'{"handle": []}\n{"variants": {}}\n[1]\n', "utf-8"),
        (b"ID,Type,SKU,Name,Regular price\n1,variation,,,1\n", "utf-8"),
        (b"Handle,Title,Variant SKU,Variant Price\n,,,\n", "utf-8"),
        (NATIVE.encode(), "rot13"),
        (NATIVE.encode(), "no-such-codec"),
    ],
)
def test_no_input_produces_a_traceback(tmp_path, raw, encoding):
    path = tmp_path / "odd.csv"
    path.write_bytes(raw)
    with contextlib.suppress(CommandError):
        call_command("load_catalog", str(path), "--encoding", encoding, verbosity=0)
    assert not Product.objects.exists()


# ---------------------------------------------------------------------------
# Images: copied into media storage from a local HTTP server
# ---------------------------------------------------------------------------

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
    b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


class _ImageHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        if self.path.endswith(".png"):
            self._send(200, "image/png", PNG)
        elif self.path.endswith(".html"):
            self._send(200, "text/html", b"<p>not an image</p>")
        else:
            self._send(404, "text/plain", b"gone")

    def _send(self, status, kind, body):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (the timeout test)
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def image_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_images_are_copied_into_media_storage_keeping_their_source_url(
    tmp_path, settings, image_server
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    urls = [
        f"{image_server}/shop/front.png",
        f"{image_server}/shop/missing.jpg",
        f"{image_server}/slow/back.png",
        f"{image_server}/page.html",
    ]
    path = write(
        tmp_path,
        "product,sku,name,price,images\n" + f"lamp,L1,Lamp,20.00,{'|'.join(urls)}\n",
    )
    result = catalog_load(path=path, fetch_images=True, image_timeout=1.0)
    images = list(Product.objects.get(slug="lamp").images.all())
    assert [i.url for i in images] == urls  # the source URL is kept
    stored = images[0].image.name
    assert stored.startswith("products/") and stored.endswith(".png")
    assert (tmp_path / "media" / stored).read_bytes() == PNG
    assert [bool(i.image) for i in images] == [True, False, False, False]
    assert result.images_fetched == 1 and len(result.image_errors) == 3
    assert any("missing.jpg" in e and "404" in e for e in result.image_errors)
    assert any("page.html" in e and "not an image" in e for e in result.image_errors)
    assert any("back.png" in e for e in result.image_errors)
    assert Product.objects.get(slug="lamp").primary_image_url == images[0].src
    # Again: the copied file stays, the failed ones are tried again.
    again = catalog_load(path=path, fetch_images=True, image_timeout=1.0)
    assert not again.changed
    assert list(ProductImage.objects.values_list("image", flat=True))[0] == stored


def test_no_fetch_images_keeps_the_urls_only(tmp_path, settings, image_server):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    url = f"{image_server}/shop/front.png"
    path = write(tmp_path, f"product,sku,name,price,images\nlamp,L1,Lamp,20.00,{url}\n")
    call_command("load_catalog", str(path), "--no-fetch-images", verbosity=0)
    image = ProductImage.objects.get()
    assert (image.url, image.image.name) == (url, "")
    assert not (tmp_path / "media").exists()
