from django.conf import settings
from django.db import migrations, models


def stats_forget(apps, schema_editor):
    # Derived rows, rebuilt by the refresh_customer_stats job: dropping them
    # lets the email column be unique from the start.
    apps.get_model("adminpanel", "CustomerStats").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("adminpanel", "0004_daily_product_behaviour"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(stats_forget, migrations.RunPython.noop),
        migrations.AddField(
            model_name="customerstats",
            name="email",
            field=models.EmailField(max_length=254, unique=True, default=""),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="customerstats",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="stats",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
