"""Django's STORAGES built from the environment.

Two aliases matter to imagegen: ``default`` (where the shop's uploads, the source images,
live) and ``imagegen`` (where variants are written; ``IMAGEGEN["STORAGE"]`` names it). Each is
local files (the demo default) or S3 through django-storages, and they may differ: sources on
a private bucket with signed URLs, variants on a public one behind a CDN, for example.

Every option is passed to the backend explicitly, so the web process, every worker and the
tests (which build the same dict from the same variables) agree on where files are.
Kept free of Django imports except the exception, so it can be imported by settings.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

KINDS = ("local", "s3")
TRUE = {"1", "true", "yes", "on"}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    return default if value is None or value == "" else value.strip().lower() in TRUE


def _kind(env: Mapping[str, str], name: str, default: str) -> str:
    kind = (env.get(name) or default).strip().lower()
    if kind not in KINDS:
        raise ImproperlyConfigured(f"{name}={kind!r} is not a storage imagegen knows: use one of {', '.join(KINDS)}.")
    return kind


def s3_options(env: Mapping[str, str], *, variants: bool) -> dict[str, Any]:
    """OPTIONS for storages.backends.s3.S3Storage. Variant settings fall back to the upload ones."""

    def pick(variant_name: str, base_name: str, default: str = "") -> str:
        value = env.get(variant_name) if variants else None
        return value if value not in (None, "") else env.get(base_name, default)

    bucket = pick("IMAGEGEN_VARIANT_BUCKET", "AWS_STORAGE_BUCKET_NAME")
    if not bucket:
        raise ImproperlyConfigured(
            "S3 storage is selected but no bucket is named: set AWS_STORAGE_BUCKET_NAME"
            + (" (or IMAGEGEN_VARIANT_BUCKET for variants)." if variants else ".")
        )
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": pick("IMAGEGEN_VARIANT_LOCATION", "AWS_LOCATION"),
        "querystring_auth": _flag(env, "IMAGEGEN_VARIANT_QUERYSTRING_AUTH", _flag(env, "AWS_QUERYSTRING_AUTH", True))
        if variants
        else _flag(env, "AWS_QUERYSTRING_AUTH", True),
        "querystring_expire": int(env.get("AWS_QUERYSTRING_EXPIRE") or 3600),
        # Variants are content-addressed: the same name always holds the same bytes, so
        # overwriting is safe and skips a HEAD per save. Uploads must never overwrite.
        "file_overwrite": variants,
        # Signature V4 for signed URLs: botocore may otherwise presign with the retired V2.
        "signature_version": env.get("AWS_S3_SIGNATURE_VERSION") or "s3v4",
    }
    optional = {
        "endpoint_url": env.get("AWS_S3_ENDPOINT_URL"),
        "region_name": env.get("AWS_S3_REGION_NAME"),
        "custom_domain": pick("IMAGEGEN_VARIANT_CUSTOM_DOMAIN", "AWS_S3_CUSTOM_DOMAIN"),
        "addressing_style": env.get("AWS_S3_ADDRESSING_STYLE"),
        "default_acl": pick("IMAGEGEN_VARIANT_ACL", "AWS_DEFAULT_ACL"),
    }
    options.update({key: value for key, value in optional.items() if value})
    if options.get("custom_domain") and env.get("AWS_S3_URL_PROTOCOL"):
        options["url_protocol"] = env["AWS_S3_URL_PROTOCOL"]
    return options


def storage_config(kind: str, env: Mapping[str, str], *, variants: bool) -> dict[str, Any]:
    if kind == "s3":
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(env, variants=variants)}
    return {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def storages_from_env(env: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """STORAGES for the demo shop and production.

    IMAGEGEN_STORAGE          local | s3: uploads and variants (default local)
    IMAGEGEN_VARIANT_STORAGE  local | s3: variants only (default: IMAGEGEN_STORAGE)
    """
    env = os.environ if env is None else env
    uploads = _kind(env, "IMAGEGEN_STORAGE", "local")
    variants = _kind(env, "IMAGEGEN_VARIANT_STORAGE", uploads)
    return {
        "default": storage_config(uploads, env, variants=False),
        "imagegen": storage_config(variants, env, variants=True),
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
