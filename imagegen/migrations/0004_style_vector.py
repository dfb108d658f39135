# Issue 7: the style vector of a Style's reference image, computed once by a worker job.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('imagegen', '0003_variant_requests'),
    ]

    operations = [
        migrations.AddField(
            model_name='style',
            name='style_vector',
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='style',
            name='style_vector_source',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
    ]
