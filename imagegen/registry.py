"""Which model fields are image sources, and which variants each gets.

Hosts register in an ``imagegen.py`` module of any installed app (autodiscovered)::

    imagegen.register("shop.ProductImage", "image", specs=[VariantSpec("sketch", processor="sketch")])

A source field is named by a string id ``app_label.model.field`` (lower case), a variant of
it by ``app_label.model.field:spec``; admin, API, commands and templates all use these ids.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from .specs import VariantSpec


class NotRegistered(LookupError):
    pass


@dataclass(frozen=True)
class Source:
    model_label: str  # "shop.productimage"
    field_name: str
    specs: tuple[VariantSpec, ...]

    @property
    def id(self) -> str:
        return f"{self.model_label}.{self.field_name}"

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def spec(self, name: str) -> VariantSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise NotRegistered(f"{self.id} has no variant spec {name!r}")


class Registry:
    def __init__(self) -> None:
        self._sources: dict[str, Source] = {}

    def register(self, model: str | type[models.Model], field_name: str, *, specs: Iterable[VariantSpec]) -> Source:
        label = model.lower() if isinstance(model, str) else model._meta.label_lower
        specs = tuple(expanded for spec in specs for expanded in spec.expanded())  # aspect_ratios: one spec per ratio
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"Duplicate spec names for {label}.{field_name}: {names}")
        source = Source(label, field_name, specs)
        self._sources[source.id] = source
        return source

    def unregister(self, source_id: str) -> None:
        self._sources.pop(source_id, None)

    def sources(self) -> list[Source]:
        return list(self._sources.values())

    def get(self, source_id: str) -> Source:
        try:
            return self._sources[source_id.lower()]
        except KeyError:
            raise NotRegistered(f"No imagegen source {source_id!r}; registered: {sorted(self._sources)}") from None

    def for_model(self, model: type[models.Model]) -> list[Source]:
        label = model._meta.label_lower
        return [s for s in self._sources.values() if s.model_label == label]

    def match(self, pattern: str) -> list[tuple[Source, list[VariantSpec]]]:
        """Sources and specs matching a glob id such as ``shop.*.image:*``."""
        source_glob, _, spec_glob = pattern.lower().partition(":")
        spec_glob = spec_glob or "*"
        return [
            (source, [s for s in source.specs if fnmatch.fnmatchcase(s.name, spec_glob)])
            for source in self._sources.values()
            if fnmatch.fnmatchcase(source.id, source_glob)
        ]


registry = Registry()
