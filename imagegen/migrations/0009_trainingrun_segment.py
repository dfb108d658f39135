from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('imagegen', '0008_style_storefront_preview'),
    ]

    operations = [
        migrations.AlterField(
            model_name='trainingrun',
            name='kind',
            field=models.CharField(choices=[('gan', 'Product GAN (generate)'), ('enhance', '4x enhancement GAN'), ('segment', 'Product segmentation (cut-outs)')], max_length=20),
        ),
    ]
