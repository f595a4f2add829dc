"""
PostgreSQL search indexes: GIN over the weighted tsvector and a trigram GIN
over the name for typo-tolerant matching. Skipped on SQLite, where search
falls back to containment.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS shop_product_search_gin "
    "ON shop_product USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS shop_product_name_trgm "
    "ON shop_product USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS shop_category_path_prefix "
    "ON shop_category (path varchar_pattern_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS shop_category_path_prefix",
    "DROP INDEX IF EXISTS shop_product_name_trgm",
    "DROP INDEX IF EXISTS shop_product_search_gin",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
