from decimal import Decimal

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
