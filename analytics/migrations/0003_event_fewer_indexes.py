from django.db import migrations, models

# The indexes this drops. On PostgreSQL without locking the table: a plain
# DROP INDEX would wait for every reader of it and block every writer, the
# flushers' COPYs included, while it waits.
OLD_INDEXES = {
    "analytics_e_name_a15d8e_idx": "(name, occurred_at)",
    "analytics_event_session_id_96628d68": "(session_id)",
    "analytics_event_session_id_96628d68_like": "(session_id varchar_pattern_ops)",
}


def drop_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name in OLD_INDEXES:
        schema_editor.execute(
            f"DROP INDEX {'CONCURRENTLY ' if postgres else ''}IF EXISTS "
            f"{schema_editor.quote_name(name)}"
        )


def create_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, columns in OLD_INDEXES.items():
        if "pattern_ops" in columns and not postgres:
            continue
        schema_editor.execute(
            f"CREATE INDEX {'CONCURRENTLY ' if postgres else ''}IF NOT EXISTS "
            f"{schema_editor.quote_name(name)} ON analytics_event {columns}"
        )


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("analytics", "0002_event_channel"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name="event",
                    name="analytics_e_name_a15d8e_idx",
                ),
                migrations.AlterField(
                    model_name="event",
                    name="session_id",
                    field=models.CharField(blank=True, max_length=64),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_indexes, create_indexes),
            ],
        ),
    ]
