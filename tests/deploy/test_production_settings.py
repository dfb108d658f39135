"""shop.settings_production refuses insecure or incomplete settings with a message that says
what to set, and passes Django's deployment checks once configured. Each case runs
`manage.py check --deploy` in a subprocess with a clean environment, as an operator would."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from shop.storages_env import storages_from_env

from ..conftest import ROOT

GOOD = {
    "DJANGO_SETTINGS_MODULE": "shop.settings_production",
    "SECRET_KEY": "t3st-only-" + "k9Qx7Lm2Vb8Np4Rw6Zt1Hy5Jc3Gd0Fs" * 2,
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "postgres://imagegen:secret@db.internal:5432/imagegen",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "IMAGEGEN_STORAGE": "s3",
    "AWS_STORAGE_BUCKET_NAME": "shop-media",
}


def check_deploy(env: dict[str, str], *, unset: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONDONTWRITEBYTECODE": "1"}
    full = {key: value for key, value in {**clean, **GOOD, **env}.items() if key not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


REFUSALS = [
    pytest.param({}, ("SECRET_KEY",), "SECRET_KEY is not set", id="no-secret-key"),
    pytest.param({"SECRET_KEY": "django-insecure-imagegen-demo-only"}, (), "SECRET_KEY is not set", id="demo-secret-key"),
    pytest.param({"SECRET_KEY": "short"}, (), "SECRET_KEY is too short", id="short-secret-key"),
    pytest.param({"DEBUG": "1"}, (), "DEBUG is on", id="debug"),
    pytest.param({}, ("ALLOWED_HOSTS",), "ALLOWED_HOSTS is empty", id="no-hosts"),
    pytest.param({"ALLOWED_HOSTS": "*"}, (), "ALLOWED_HOSTS contains '*'", id="any-host"),
    pytest.param({}, ("DATABASE_URL",), "DATABASE_URL is not set or points at SQLite", id="default-sqlite"),
    pytest.param({"DATABASE_URL": "sqlite:///var/prod.sqlite3"}, (), "points at SQLite", id="sqlite"),
    pytest.param({}, ("IMAGEGEN_STORAGE",), "IMAGEGEN_STORAGE is not set", id="storage-not-chosen"),
]


@pytest.mark.parametrize(("env", "unset", "message"), REFUSALS)
def test_refuses_to_start_with_a_clear_message(env, unset, message):
    result = check_deploy(env, unset=unset)

    assert result.returncode != 0
    assert "ImproperlyConfigured: shop.settings_production refuses to start" in result.stderr
    assert message in result.stderr
    # One problem, one line: the others are fine in this case.
    assert result.stderr.count("\n  - ") == 1, result.stderr


def test_lists_every_problem_at_once():
    result = check_deploy({"DEBUG": "true"}, unset=("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "IMAGEGEN_STORAGE"))

    assert result.returncode != 0
    for message in ("SECRET_KEY", "DEBUG is on", "ALLOWED_HOSTS", "DATABASE_URL", "IMAGEGEN_STORAGE"):
        assert f"  - {message}" in result.stderr
    assert "docs/deploy.md" in result.stderr


def test_s3_without_a_bucket_is_refused():
    result = check_deploy({}, unset=("AWS_STORAGE_BUCKET_NAME",))

    assert result.returncode != 0
    assert "S3 storage is selected but no bucket is named: set AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_a_complete_configuration_passes_the_deploy_checks():
    # The database is never contacted by `check`: the host above need not exist.
    result = check_deploy({})

    assert result.returncode == 0, result.stderr
    # Not one of Django's deployment warnings (HSTS, SSL redirect, secure cookies, DEBUG,
    # SECRET_KEY, ALLOWED_HOSTS...); other apps' warnings are theirs to report.
    output = result.stdout + result.stderr
    assert "(security." not in output, output


# --- STORAGES from the environment (pure function, no subprocess) ----------------------------

def test_local_files_by_default():
    storages = storages_from_env({})
    assert storages["default"]["BACKEND"] == storages["imagegen"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_s3_for_uploads_and_variants_with_signed_urls_by_default():
    storages = storages_from_env(
        {"IMAGEGEN_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "media", "AWS_S3_ENDPOINT_URL": "http://minio:9000"}
    )
    uploads, variants = storages["default"]["OPTIONS"], storages["imagegen"]["OPTIONS"]
    assert storages["default"]["BACKEND"] == storages["imagegen"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert uploads["bucket_name"] == variants["bucket_name"] == "media"
    assert uploads["endpoint_url"] == variants["endpoint_url"] == "http://minio:9000"
    assert uploads["querystring_auth"] is variants["querystring_auth"] is True
    assert uploads["signature_version"] == "s3v4"
    # Uploads never overwrite each other; content-addressed variants may.
    assert uploads["file_overwrite"] is False and variants["file_overwrite"] is True


def test_variants_can_have_their_own_bucket_and_public_urls():
    storages = storages_from_env(
        {
            "IMAGEGEN_VARIANT_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": "private-media",
            "IMAGEGEN_VARIANT_BUCKET": "public-variants",
            "IMAGEGEN_VARIANT_QUERYSTRING_AUTH": "0",
            "IMAGEGEN_VARIANT_CUSTOM_DOMAIN": "cdn.example.com",
        }
    )
    assert storages["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    options = storages["imagegen"]["OPTIONS"]
    assert options["bucket_name"] == "public-variants"
    assert options["querystring_auth"] is False
    assert options["custom_domain"] == "cdn.example.com"


def test_unknown_storage_kind_is_refused():
    with pytest.raises(ImproperlyConfigured, match="IMAGEGEN_STORAGE='gcs' is not a storage imagegen knows"):
        storages_from_env({"IMAGEGEN_STORAGE": "gcs"})
