"""
A partial index (is_active) per listing sort, in the sort's column order, for
all products and per category, so a listing page is read in order from an
index instead of sorted from every match. They replace the three
(is_active, column) indexes, which served no sort's full order. And an
index on UPPER(sku), for a search by exact SKU in any case.
"""

from django.db import migrations, models
from django.db.models.functions import Upper

OLD_INDEXES = [
    models.Index(
        fields=["is_active", "-created_at"], name="shop_produc_is_acti_1ba9a0_idx"
    ),
    models.Index(
        fields=["is_active", "price_from"], name="shop_produc_is_acti_cc5de8_idx"
    ),
    models.Index(
        fields=["is_active", "-units_sold"], name="shop_produc_is_acti_052eb4_idx"
    ),
]
SORTS = {
    "featured": ["-is_featured", "-units_sold", "name"],
    "price_asc": ["price_from", "name"],
    "price_desc": ["-price_from", "name"],
    "newest": ["-created_at", "name"],
    "best_selling": ["-units_sold", "name"],
}
NEW_INDEXES = [
    models.Index(condition=models.Q(is_active=True), fields=fields, name=name)
    for sort, columns in SORTS.items()
    for name, fields in (
        (f"product_{sort}_idx", columns),
        (f"product_cat_{sort}_idx", ["category", *columns]),
    )
]

SKU_INDEX = models.Index(Upper("sku"), name="variant_sku_upper_idx")


def _schema_call(method, indexes, model_name="Product"):
    # On PostgreSQL built and dropped CONCURRENTLY: a plain CREATE INDEX
    # would block every catalogue write for as long as it reads the table.
    def run(apps, schema_editor):
        model = apps.get_model("shop", model_name)
        concurrently = schema_editor.connection.vendor == "postgresql"
        for index in indexes:
            if concurrently:
                getattr(schema_editor, method)(model, index, concurrently=True)
            else:
                getattr(schema_editor, method)(model, index)

    return run


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("shop", "0010_order_analytics_ids"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                *(
                    migrations.RemoveIndex(model_name="product", name=index.name)
                    for index in OLD_INDEXES
                ),
                *(
                    migrations.AddIndex(model_name="product", index=index)
                    for index in NEW_INDEXES
                ),
                migrations.AddIndex(model_name="productvariant", index=SKU_INDEX),
            ],
            database_operations=[
                migrations.RunPython(
                    _schema_call("add_index", NEW_INDEXES),
                    _schema_call("remove_index", NEW_INDEXES),
                ),
                migrations.RunPython(
                    _schema_call("remove_index", OLD_INDEXES),
                    _schema_call("add_index", OLD_INDEXES),
                ),
                migrations.RunPython(
                    _schema_call("add_index", [SKU_INDEX], "ProductVariant"),
                    _schema_call("remove_index", [SKU_INDEX], "ProductVariant"),
                ),
            ],
        ),
    ]
