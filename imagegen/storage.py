"""Where variant files live, and how they are named."""
from __future__ import annotations

import hashlib

from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.utils.functional import LazyObject, empty

from .conf import conf
from .specs import EXTENSIONS


class VariantStorage(LazyObject):
    """``storages[IMAGEGEN["STORAGE"]]``, looked up on first use and again after the settings
    change. A FileField calls its storage callable once, at import, so returning the backend
    itself would pin whatever STORAGES said then (tests that switch to S3 would not)."""

    def _setup(self) -> None:
        self._wrapped = storages[conf.STORAGE]


_variant_storage = VariantStorage()


def variant_storage() -> Storage:
    return _variant_storage  # type: ignore[return-value]  a lazy proxy to a Storage


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in {"IMAGEGEN", "STORAGES"}:
        _variant_storage._wrapped = empty


setting_changed.connect(_reset)


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
