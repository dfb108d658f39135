"""Source references in the API: ``app_label.model:pk`` or ``app_label.model.field:pk``
(the field may be left out when the model has one registered image field)."""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from ..registry import NotRegistered, Source, registry

EXAMPLE = "shop.productimage:42"


class BadReference(ValueError):
    pass


@dataclass(frozen=True)
class SourceRef:
    source: Source
    pk: object  # the primary key, converted to the model's type

    @property
    def object_id(self) -> str:
        return str(self.pk)


def _source_for(label: str) -> Source:
    if label.count(".") == 2:
        try:
            return registry.get(label)
        except NotRegistered:
            pass
    else:
        matches = [s for s in registry.sources() if s.model_label == label]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise BadReference(f"{label} has several image fields; name one: {', '.join(s.id for s in matches)}.")
    known = ", ".join(sorted(s.id for s in registry.sources())) or "none"
    raise BadReference(f"Unknown source {label!r}; registered sources: {known}.")


def parse(value: str) -> SourceRef:
    label, sep, raw_pk = str(value).strip().partition(":")
    if not sep or not label or not raw_pk:
        raise BadReference(f"{value!r} is not a source reference; use app_label.model:pk, e.g. {EXAMPLE}.")
    source = _source_for(label.lower())
    try:
        pk = source.model._meta.pk.to_python(raw_pk)
    except ValidationError:
        raise BadReference(f"{raw_pk!r} is not a valid id for {source.model_label}.") from None
    if isinstance(pk, int) and not -(2**63) <= pk < 2**63:  # beyond any database integer
        raise BadReference(f"{raw_pk!r} is not a valid id for {source.model_label}.")
    return SourceRef(source, pk)


def format_ref(model_label: str, object_id: str) -> str:
    return f"{model_label}:{object_id}"
