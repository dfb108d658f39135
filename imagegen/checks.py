"""System checks: configuration mistakes are reported at start-up, not in a worker at 3 a.m."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from .conf import DEFAULTS, conf
from .registry import registry
from .specs import FORMATS


@register(Tags.compatibility)
def check_settings(app_configs=None, **kwargs) -> list:
    errors = []
    unknown = conf.user_keys - set(DEFAULTS)
    for key in sorted(unknown):
        errors.append(Error(f"IMAGEGEN[{key!r}] is not a setting imagegen knows.", hint=f"Known: {', '.join(sorted(DEFAULTS))}", id="imagegen.E001"))
    rq_queues = getattr(settings, "RQ_QUEUES", {})
    for purpose, name in conf.QUEUES.items():
        if name not in rq_queues:
            errors.append(
                Error(
                    f"imagegen queue {name!r} (for {purpose!r} work) is not in settings.RQ_QUEUES.",
                    hint=f"Add RQ_QUEUES[{name!r}] = {{'URL': REDIS_URL}}.",
                    id="imagegen.E002",
                )
            )
    threads = conf.TORCH_THREADS
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        errors.append(Error(f"IMAGEGEN['TORCH_THREADS'] must be None or a positive integer, not {threads!r}.", id="imagegen.E006"))
    batch = conf.BATCH_SIZE
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        errors.append(Error(f"IMAGEGEN['BATCH_SIZE'] must be None or a positive integer, not {batch!r}.", id="imagegen.E007"))
    wait = conf.BATCH_WAIT_MS
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= 10_000:
        errors.append(Error(f"IMAGEGEN['BATCH_WAIT_MS'] must be a number of milliseconds from 0 to 10000, not {wait!r}.", id="imagegen.E008"))
    if conf.STORAGE not in getattr(settings, "STORAGES", {"default": {}}):
        errors.append(Error(f"IMAGEGEN['STORAGE'] = {conf.STORAGE!r} is not an alias in settings.STORAGES.", id="imagegen.E003"))
    if str(conf.DEFAULT_FORMAT).lower() not in FORMATS:
        errors.append(Error(f"IMAGEGEN['DEFAULT_FORMAT'] = {conf.DEFAULT_FORMAT!r} is not one of {sorted(FORMATS)}.", id="imagegen.E004"))
    for key in ("JOB_TIMEOUT", "WORKER_HEARTBEAT_TTL", "RECONCILE_AFTER", "RECONCILE_INTERVAL", "MAX_ATTEMPTS", "MAX_SOURCE_BYTES", "MAX_SOURCE_PIXELS"):
        value = getattr(conf, key)
        if not isinstance(value, int) or value <= 0:
            errors.append(Error(f"IMAGEGEN[{key!r}] must be a positive integer, not {value!r}.", id="imagegen.E005"))
    errors.extend(_check_quality_thresholds(conf.QUALITY_THRESHOLDS))
    return errors


def _check_quality_thresholds(thresholds) -> list:
    # The known keys live in the engine (restyle.THRESHOLD_KEYS); listed here too so that
    # checking settings does not import torch.
    known = ("content_ssim_min", "product_delta_e_max", "style_distance_max")
    if not isinstance(thresholds, dict):
        return [Error(f"IMAGEGEN['QUALITY_THRESHOLDS'] must be a dict, not {thresholds!r}.", hint="e.g. {'content_ssim_min': 0.2}", id="imagegen.E030")]
    errors = []
    for key, value in thresholds.items():
        if key not in known:
            errors.append(Error(f"IMAGEGEN['QUALITY_THRESHOLDS'] has an unknown key {key!r}.", hint=f"Known: {', '.join(known)}", id="imagegen.E030"))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
            errors.append(Error(f"IMAGEGEN['QUALITY_THRESHOLDS'][{key!r}] must be a number >= 0, not {value!r}.", id="imagegen.E030"))
    return errors


@register(Tags.models)
def check_sources(app_configs=None, **kwargs) -> list:
    from .engine import ParameterError, processor_names, validate  # imports torch: only when checks run

    errors = []
    known = set(processor_names())
    for source in registry.sources():
        try:
            model = source.model
        except LookupError:
            errors.append(Error(f"imagegen source {source.id!r}: no model {source.model_label!r} is installed.", id="imagegen.E010"))
            continue
        try:
            field = model._meta.get_field(source.field_name)
        except FieldDoesNotExist:
            errors.append(Error(f"imagegen source {source.id!r}: {model.__name__} has no field {source.field_name!r}.", id="imagegen.E011"))
            continue
        if not isinstance(field, models.FileField):
            errors.append(Error(f"imagegen source {source.id!r}: {source.field_name!r} is not an ImageField or FileField.", id="imagegen.E012"))
        if not source.specs:
            errors.append(Warning(f"imagegen source {source.id!r} has no variant specs.", id="imagegen.W013"))
        for spec in source.specs:
            if not spec.processor:
                continue
            if spec.processor not in known:
                errors.append(
                    Error(
                        f"imagegen spec {source.id}:{spec.name} names unknown processor {spec.processor!r}.",
                        hint=f"Available: {', '.join(sorted(known))}",
                        id="imagegen.E014",
                    )
                )
                continue
            try:
                validate(spec.processor, spec.params)
            except ParameterError as exc:
                errors.append(Error(f"imagegen spec {source.id}:{spec.name}: {exc}", id="imagegen.E015"))
    return errors
