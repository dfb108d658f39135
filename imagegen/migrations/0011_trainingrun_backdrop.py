from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('imagegen', '0010_previewsample'),
    ]

    operations = [
        migrations.AlterField(
            model_name='trainingrun',
            name='kind',
            field=models.CharField(choices=[('gan', 'Product GAN (generate)'), ('enhance', '4x enhancement GAN'), ('segment', 'Product segmentation (cut-outs)'), ('backdrop', 'Generated backdrops (GAN)')], max_length=20),
        ),
    ]
