"""System checks for the REST API and webhook settings (IMAGEGEN["API_*"], ["WEBHOOK_*"])."""
from __future__ import annotations

import re

from django.apps import apps
from django.core.checks import Error, Tags, register
from django.core.exceptions import FieldError, ValidationError
from django.utils.module_loading import import_string

from .conf import conf

RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


@register(Tags.compatibility)
def check_api_settings(app_configs=None, **kwargs) -> list:
    errors = []
    path = conf.API_SOURCE_VISIBILITY
    if path and not callable(path):
        try:
            hook = import_string(path)
        except ImportError as exc:
            errors.append(Error(f"IMAGEGEN['API_SOURCE_VISIBILITY'] = {path!r} cannot be imported ({exc}).", id="imagegen.E050"))
        else:
            if not callable(hook):
                errors.append(Error(f"IMAGEGEN['API_SOURCE_VISIBILITY'] = {path!r} is not a callable.", id="imagegen.E050"))
    for param, lookups in (conf.API_PARENT_FILTERS or {}).items():
        for label, lookup in (lookups or {}).items():
            try:
                apps.get_model(label)._default_manager.filter(**{lookup: 1}).query  # noqa: B018  builds the lookup
            except (LookupError, ValueError) as exc:
                errors.append(Error(f"IMAGEGEN['API_PARENT_FILTERS'][{param!r}]: no model {label!r} ({exc}).", id="imagegen.E051"))
            except FieldError as exc:
                errors.append(Error(f"IMAGEGEN['API_PARENT_FILTERS'][{param!r}]: {label}.{lookup} is not a lookup ({exc}).", id="imagegen.E051"))
            except (ValidationError, TypeError):
                pass  # a valid lookup whose key is not an integer (a UUID, a slug)
    rate = conf.API_REQUEST_RATE
    if rate is not None and not RATE.match(str(rate)):
        errors.append(Error(f"IMAGEGEN['API_REQUEST_RATE'] = {rate!r} is not a rate like '60/hour' (or None).", id="imagegen.E052"))
    for key in ("API_MAX_SOURCES", "API_RETRY_AFTER", "WEBHOOK_TIMEOUT"):
        value = getattr(conf, key)
        if not isinstance(value, int) or value <= 0:
            errors.append(Error(f"IMAGEGEN[{key!r}] must be a positive integer, not {value!r}.", id="imagegen.E053"))
    delays = conf.WEBHOOK_RETRY_DELAYS
    if not isinstance(delays, (list, tuple)) or not all(isinstance(d, int) and d > 0 for d in delays):
        errors.append(Error(f"IMAGEGEN['WEBHOOK_RETRY_DELAYS'] must be a list of positive seconds, not {delays!r}.", id="imagegen.E054"))
    if conf.WEBHOOK_ALLOWED_HOSTS and not conf.WEBHOOK_SECRET:
        errors.append(
            Error(
                "IMAGEGEN['WEBHOOK_ALLOWED_HOSTS'] is set but IMAGEGEN['WEBHOOK_SECRET'] is empty: webhooks cannot be signed.",
                hint="Set a long random WEBHOOK_SECRET and share it with the receivers.",
                id="imagegen.E055",
            )
        )
    if "*" in list(conf.WEBHOOK_ALLOWED_HOSTS or []):
        errors.append(Error("IMAGEGEN['WEBHOOK_ALLOWED_HOSTS'] must not contain '*': any host could be called.", id="imagegen.E056"))
    return errors
