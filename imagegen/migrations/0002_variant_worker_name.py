from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imagegen", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="variant",
            name="worker_name",
            field=models.CharField(blank=True, help_text="the worker rendering or last rendering it", max_length=200),
        ),
    ]
