"""Where variant files live, and how they are named."""
from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from .conf import conf
from .specs import EXTENSIONS


def variant_storage() -> Storage:
    return storages[conf.STORAGE]


def content_name(data: bytes, image_format: str) -> str:
    """A content-addressed name: the same bytes always land at the same path, and nothing
    from the upload (its name, its claimed type) ever reaches the path."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{conf.UPLOAD_TO}/{digest[:2]}/{digest[2:4]}/{digest}.{EXTENSIONS[image_format]}"


def save_content(data: bytes, image_format: str) -> str:
    storage = variant_storage()
    name = content_name(data, image_format)
    if storage.exists(name):
        return name
    return storage.save(name, ContentFile(data))
