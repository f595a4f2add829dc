from django.db import migrations, models

RARE_INDEX = models.Index(
    condition=models.Q(
        (
            "name__in",
            [
                "search",
                "add_to_cart",
                "remove_from_cart",
                "begin_checkout",
                "purchase",
                "sign_up",
                "login",
            ],
        )
    ),
    fields=["name", "occurred_at"],
    name="analytics_event_rare_idx",
)


def add_index(apps, schema_editor):
    # On PostgreSQL built CONCURRENTLY: a plain CREATE INDEX would block the
    # flushers' COPYs for as long as it reads the whole table.
    model = apps.get_model("analytics", "Event")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(model, RARE_INDEX, concurrently=True)
    else:
        schema_editor.add_index(model, RARE_INDEX)


def remove_index(apps, schema_editor):
    model = apps.get_model("analytics", "Event")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(model, RARE_INDEX, concurrently=True)
    else:
        schema_editor.remove_index(model, RARE_INDEX)


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("analytics", "0003_event_fewer_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="event", index=RARE_INDEX)
            ],
            database_operations=[migrations.RunPython(add_index, remove_index)],
        ),
    ]
