import uuid

from django.db import models


class Banner(models.Model):
    """A model imagegen knows nothing about: a UUID key and an ImageField of another name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    title = models.CharField(max_length=100)
    picture = models.ImageField(upload_to="banners/", blank=True)
