"""Test settings: the demo shop's, pointed at a Redis database and a media folder of their own.

Values go through the environment so a worker subprocess started by the tests (which
inherits it) sees exactly the same configuration.
"""
import os
import tempfile

os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="imagegen-test-media-"))
# The SQLite test database is a file (worker subprocesses open it too), one per test run.
os.environ.setdefault("TEST_SQLITE_NAME", os.path.join(tempfile.gettempdir(), f"imagegen-test-{os.getpid()}.sqlite3"))
os.environ.setdefault("IMAGEGEN_RECONCILE_INTERVAL", "2")
# Webhooks to the tests' local HTTP servers (tests/api).
os.environ.setdefault("IMAGEGEN_WEBHOOK_SECRET", "test-webhook-secret")
os.environ.setdefault("IMAGEGEN_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")

from shop.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
LOGGING["loggers"]["imagegen"]["level"] = os.environ.get("IMAGEGEN_LOG_LEVEL", "WARNING")  # noqa: F405
IMAGEGEN["WEBHOOK_RETRY_DELAYS"] = [1, 1, 1]  # noqa: F405  retries within a test's patience

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405

# A storage nothing can write to (not even root), for storage-failure tests (IMAGEGEN_TEST_STORAGE=unwritable).
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "unwritable": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": "/proc/imagegen-unwritable"}},
}
if os.environ.get("IMAGEGEN_TEST_STORAGE"):
    IMAGEGEN = {**IMAGEGEN, "STORAGE": os.environ["IMAGEGEN_TEST_STORAGE"]}  # noqa: F405
if os.environ.get("IMAGEGEN_MAX_ATTEMPTS"):
    IMAGEGEN = {**IMAGEGEN, "MAX_ATTEMPTS": int(os.environ["IMAGEGEN_MAX_ATTEMPTS"])}  # noqa: F405
if os.environ.get("IMAGEGEN_WORKER_HEARTBEAT_TTL"):
    IMAGEGEN = {**IMAGEGEN, "WORKER_HEARTBEAT_TTL": int(os.environ["IMAGEGEN_WORKER_HEARTBEAT_TTL"])}  # noqa: F405
