"""Test settings: the demo shop's, pointed at a Redis database and a media folder of their own.

Values go through the environment so a worker subprocess started by the tests (which
inherits it) sees exactly the same configuration.
"""
import os
import tempfile

os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="imagegen-test-media-"))
os.environ.setdefault("IMAGEGEN_RECONCILE_INTERVAL", "2")

from shop.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
LOGGING["loggers"]["imagegen"]["level"] = "WARNING"  # noqa: F405
