from django.db import migrations, models

RARE = ["search", "add_to_cart", "remove_from_cart", "begin_checkout", "purchase"]
# The index 0004 built also named sign_up and login, which nothing records.
OLD_INDEX = models.Index(
    condition=models.Q(("name__in", [*RARE, "sign_up", "login"])),
    fields=["name", "occurred_at"],
    name="analytics_event_rare_idx",
)
NEW_INDEX = models.Index(
    condition=models.Q(("name__in", RARE)),
    fields=["name", "occurred_at"],
    name="analytics_event_commerce_idx",
)


def swap(schema_editor, model, *, add, remove):
    # The new index is built before the old one goes, so the search report
    # and the admin's filter never lose theirs. On PostgreSQL both run
    # CONCURRENTLY: a plain CREATE or DROP INDEX would block the flushers'
    # COPYs for as long as it takes.
    options = (
        {"concurrently": True}
        if schema_editor.connection.vendor == "postgresql"
        else {}
    )
    schema_editor.add_index(model, add, **options)
    schema_editor.remove_index(model, remove, **options)


def forwards(apps, schema_editor):
    model = apps.get_model("analytics", "Event")
    swap(schema_editor, model, add=NEW_INDEX, remove=OLD_INDEX)


def backwards(apps, schema_editor):
    model = apps.get_model("analytics", "Event")
    swap(schema_editor, model, add=OLD_INDEX, remove=NEW_INDEX)


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("analytics", "0004_event_rare_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name="event", name="analytics_event_rare_idx"
                ),
                migrations.AddIndex(model_name="event", index=NEW_INDEX),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
