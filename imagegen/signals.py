"""Save/delete hooks on registered source models.

The file's bytes, not its name, decide whether an image changed: a new upload is hashed
while still in memory (before storage commits it), a renamed file is hashed from storage.
"""
from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import post_delete, post_init, post_save, pre_save
from django.dispatch import Signal

from .registry import registry

# Sent by the worker; hosts can react (e.g. purge a CDN) without polling.
variant_ready = Signal()  # sender=Variant, variant=...
variant_failed = Signal()  # sender=Variant, variant=...

_NAMES = "_imagegen_loaded_names"
_HASHES = "_imagegen_new_hashes"


def _remember_names(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    sources = registry.for_model(sender)
    if sources:
        instance.__dict__[_NAMES] = {s.field_name: _name(instance, s.field_name) for s in sources}


def _name(instance: models.Model, field_name: str) -> str:
    # Read the raw attribute: going through the descriptor would build a FieldFile on every load.
    value = instance.__dict__.get(field_name)
    return getattr(value, "name", value) or ""


def _hash_new_uploads(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    from .sources import hash_file

    hashes = {}
    for source in registry.for_model(sender):
        fieldfile = getattr(instance, source.field_name)
        if fieldfile and not fieldfile._committed:
            hashes[source.field_name] = hash_file(fieldfile)
    instance.__dict__[_HASHES] = hashes


def _sync_after_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # loaddata: fixtures are not uploads
        return
    from .sources import sync_source

    new_hashes = instance.__dict__.pop(_HASHES, {})
    loaded = instance.__dict__.get(_NAMES, {})
    for source in registry.for_model(sender):
        name = _name(instance, source.field_name)
        changed = created or source.field_name in new_hashes or loaded.get(source.field_name) != name
        if changed:
            sync_source(instance, source, new_hashes.get(source.field_name))
    instance.__dict__[_NAMES] = {s.field_name: _name(instance, s.field_name) for s in registry.for_model(sender)}


def _forget_deleted(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    from .models import Variant

    if registry.for_model(sender):
        # The rows go; their files (content-addressed, possibly shared) are removed by imagegen_cleanup.
        Variant.objects.for_object(instance).delete()


def connect_source_models() -> None:
    models_seen = {source.model for source in registry.sources()}
    for model in models_seen:
        uid = f"imagegen:{model._meta.label_lower}"
        post_init.connect(_remember_names, sender=model, dispatch_uid=uid)
        pre_save.connect(_hash_new_uploads, sender=model, dispatch_uid=uid)
        post_save.connect(_sync_after_save, sender=model, dispatch_uid=uid)
        post_delete.connect(_forget_deleted, sender=model, dispatch_uid=uid)
