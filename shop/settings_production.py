"""Production settings: the demo shop's settings (everything from the environment), with
secure defaults, and a refusal to start on the demo's insecure ones.

    DJANGO_SETTINGS_MODULE=shop.settings_production

Required: SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL (PostgreSQL) and an explicit
IMAGEGEN_STORAGE. docs/deploy.md lists every variable.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403
from .settings import DATABASES, LOGGING, env_bool

DEBUG = env_bool("DEBUG", False)
# Only what the environment says: the demo's localhost list does not belong in production.
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

# HTTPS. TLS ends at the load balancer or reverse proxy, which says so in X-Forwarded-Proto
# (it must overwrite any such header a client sends). Health checks may use plain HTTP.
if env_bool("TRUST_X_FORWARDED_PROTO", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz(/|$)"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a pooled connection that died is replaced, not reused
STATIC_ROOT = os.environ.get("STATIC_ROOT", str(STATIC_ROOT))  # noqa: F405

LOGGING = {
    **LOGGING,
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}


def insecure_settings(environ: Mapping[str, str] = os.environ) -> list[str]:
    """What is wrong with this configuration for production, each with what to do."""
    problems = []
    if "SECRET_KEY" not in environ or SECRET_KEY.startswith("django-insecure"):  # noqa: F405
        problems.append(
            "SECRET_KEY is not set (the demo's public key would sign sessions): set it to a long random value, "
            "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    elif len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:  # noqa: F405  Django's own deploy criteria
        problems.append("SECRET_KEY is too short or too simple: use at least 50 random characters.")
    if DEBUG:
        problems.append("DEBUG is on: it shows source code and settings to anyone who triggers an error. Unset DEBUG or set DEBUG=0.")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS is empty: set it to the shop's host names, comma-separated (e.g. shop.example.com).")
    elif "*" in ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS contains '*': list the shop's host names, so forged Host headers are refused.")
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        problems.append(
            "DATABASE_URL is not set or points at SQLite: web and GPU worker hosts need one shared database; "
            "set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/NAME."
        )
    if not environ.get("IMAGEGEN_STORAGE"):
        problems.append(
            "IMAGEGEN_STORAGE is not set: choose where images live. IMAGEGEN_STORAGE=s3 (with AWS_STORAGE_BUCKET_NAME) "
            "for web and workers on several hosts; IMAGEGEN_STORAGE=local only if every process shares MEDIA_ROOT."
        )
    return problems


_problems = insecure_settings()
if _problems:
    raise ImproperlyConfigured(
        "shop.settings_production refuses to start with insecure or incomplete settings:\n"
        + "\n".join(f"  - {problem}" for problem in _problems)
        + "\nSee docs/deploy.md for every setting."
    )
