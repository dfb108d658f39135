"""Settings for the imagegen demo shop.

Every value that differs between a laptop and production comes from the environment,
with defaults that keep the demo self-contained: SQLite, local files, Redis on localhost.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict:
    """Parse DATABASE_URL (sqlite:///path or postgres://user:pass@host:port/name)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/to/project or sqlite:////absolute/path
        path = unquote(parts.path[1:])
        name = path if os.path.isabs(path) else str(BASE_DIR / path)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": dict(parse_qsl(parts.query)),
            "CONN_MAX_AGE": 60,
        }
    raise ValueError(f"Unsupported DATABASE_URL scheme {parts.scheme!r}: use sqlite:// or postgres://")


SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-imagegen-demo-only")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "imagegen",
    "shop.catalogue",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", "sqlite:///var/db.sqlite3"))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file (not :memory:) test database, so a worker subprocess sees what the tests write.
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_SQLITE_NAME", str(BASE_DIR / "var" / "test.sqlite3"))}
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The storefront's product cards and thumbnails: "" shows the original photo; a spec or style
# name (e.g. "marketplace") shows that variant, with the original while it is pending.
SHOP_PRIMARY_SPEC = os.environ.get("SHOP_PRIMARY_SPEC", "")


def make_folders(*paths: str | Path) -> None:
    """Create the local folders these settings point to, so `manage.py migrate` works on a
    fresh clone (SQLite cannot create its file's folder). A read-only or remote path is left
    for the first real use to report."""
    for path in paths:
        try:
            Path(path).mkdir(parents=True, exist_ok=True)
        except OSError:
            pass

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and DATABASES["default"]["NAME"] != ":memory:":
    make_folders(Path(DATABASES["default"]["NAME"]).parent)
make_folders(MEDIA_ROOT)

# "default" holds uploads (source images), "imagegen" holds variants: local files unless
# IMAGEGEN_STORAGE / IMAGEGEN_VARIANT_STORAGE say s3 (see shop/storages_env.py, docs/deploy.md).
from shop.storages_env import storages_from_env  # noqa: E402

STORAGES = storages_from_env()

# A short connect timeout: an upload must not hang when Redis is down (the outbox covers it).
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
_redis_url = REDIS_URL if "socket_connect_timeout" in REDIS_URL else (
    REDIS_URL + ("&" if "?" in REDIS_URL else "?") + "socket_connect_timeout=2"
)
_redis = {"URL": _redis_url, "DEFAULT_TIMEOUT": 600}
RQ_QUEUES = {name: dict(_redis) for name in ("imagegen-high", "imagegen", "imagegen-bulk", "imagegen-train")}
RQ = {"COMMIT_MODE": "auto"}

IMAGEGEN = {
    "STORAGE": "imagegen",
    "JOB_TIMEOUT": int(os.environ.get("IMAGEGEN_JOB_TIMEOUT", "600")),
    "RECONCILE_AFTER": int(os.environ.get("IMAGEGEN_RECONCILE_AFTER", "60")),
    "RECONCILE_INTERVAL": int(os.environ.get("IMAGEGEN_RECONCILE_INTERVAL", "30")),
    "TORCH_THREADS": int(os.environ["IMAGEGEN_TORCH_THREADS"]) if os.environ.get("IMAGEGEN_TORCH_THREADS") else None,
    # Cross-source batching (docs/architecture.md): default 8 on a GPU worker, off on CPU.
    "BATCH_SIZE": int(os.environ["IMAGEGEN_BATCH_SIZE"]) if os.environ.get("IMAGEGEN_BATCH_SIZE") else None,
    "BATCH_WAIT_MS": int(os.environ.get("IMAGEGEN_BATCH_WAIT_MS", "20")),
    # REST API (docs/api.md): product images are public when their product is; ?product=<id>.
    "API_SOURCE_VISIBILITY": "shop.catalogue.api.visible_sources",
    "API_PARENT_FILTERS": {"product": {"shop.productimage": "product"}},
    "API_REQUEST_RATE": os.environ.get("IMAGEGEN_API_REQUEST_RATE", "60/hour"),
    "WEBHOOK_SECRET": os.environ.get("IMAGEGEN_WEBHOOK_SECRET", ""),
    "WEBHOOK_ALLOWED_HOSTS": [h for h in os.environ.get("IMAGEGEN_WEBHOOK_ALLOWED_HOSTS", "").split(",") if h],
    # imagegen_train gan --conditional: a product image's category (docs/models.md).
    "TRAINING_LABEL": "product.category.slug",
    # imagegen_train segment composites the transparent products on these photos (docs/models.md)
    "SEGMENT_BACKGROUNDS": os.environ.get("IMAGEGEN_SEGMENT_BACKGROUNDS")
    or (str(BASE_DIR.parent / "shared" / "datasets" / "backgrounds") if (BASE_DIR.parent / "shared" / "datasets" / "backgrounds").is_dir() else None),
}

# REST API: token (Authorization: Token ...) and session auth; OpenAPI schema by drf-spectacular,
# its Swagger UI and Redoc served from the installed sidecar package (no CDN).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "imagegen demo shop API",
    "DESCRIPTION": "Product image variants: styles, variants, requests for new work. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Redoc's default theme asks for Roboto and Montserrat from Google; use the system's fonts
    "REDOC_UI_SETTINGS": {
        "theme": {"typography": {"fontFamily": "system-ui, sans-serif", "headings": {"fontFamily": "system-ui, sans-serif"}}}
    },
    "ENUM_NAME_OVERRIDES": {"VariantStatusEnum": "imagegen.models.Variant.Status"},
}

LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "imagegen": {"handlers": ["console"], "level": os.environ.get("IMAGEGEN_LOG_LEVEL", "INFO")},
    },
}
