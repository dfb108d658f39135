"""Who sees what, and who may ask for work.

Visibility is the host's decision, through one hook (``IMAGEGEN["API_SOURCE_VISIBILITY"]``):
a callable ``visible(user, queryset) -> queryset`` that narrows a registered source model's
rows to those ``user`` (possibly anonymous) may see. Staff see every source. On top of it:
anonymous clients see only published, ready variants.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils.module_loading import import_string
from rest_framework.permissions import BasePermission

from ..conf import conf
from ..models import Variant
from ..registry import registry

PERMISSION = "imagegen.request_variant"


@lru_cache(maxsize=8)
def _load(path: str) -> Callable:
    return import_string(path)


def visibility_hook() -> Callable | None:
    path = conf.API_SOURCE_VISIBILITY
    if not path:
        return None
    return path if callable(path) else _load(path)


def sees_everything(user) -> bool:
    return bool(getattr(user, "is_staff", False) and user.is_active)


def visible_sources(user, model: type[models.Model]) -> models.QuerySet:
    """The rows of a source model that ``user`` may see."""
    queryset = model._default_manager.all()
    hook = visibility_hook()
    if sees_everything(user) or hook is None:
        return queryset
    return hook(user, queryset)


def visible_variants(user, queryset: models.QuerySet[Variant]) -> models.QuerySet[Variant]:
    """``queryset`` narrowed to variants of sources ``user`` may see: one SQL query, the
    visibility rules as sub-selects."""
    if sees_everything(user):
        return queryset
    hook = visibility_hook()
    allowed = Q(pk__in=[])
    for model in {source.model for source in registry.sources()}:
        content_type = ContentType.objects.get_for_model(model)
        if hook is None:
            allowed |= Q(content_type=content_type)
            continue
        # object_id is text (any primary key type), so compare against the key cast to text.
        ids = hook(user, model._default_manager.all()).annotate(_imagegen_pk=Cast("pk", CharField())).values("_imagegen_pk")
        allowed |= Q(content_type=content_type, object_id__in=ids)
    queryset = queryset.filter(allowed)
    if not getattr(user, "is_authenticated", False):
        queryset = queryset.filter(is_published=True, status=Variant.Status.READY)
    return queryset


class CanRequestVariants(BasePermission):
    """Creating work costs GPU time: it needs the ``imagegen.request_variant`` permission."""

    message = f"Requesting variants needs the {PERMISSION!r} permission (each one costs GPU time)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(PERMISSION))
