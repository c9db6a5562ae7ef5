"""The test suite: real PostgreSQL (DATABASE_URL or embedded), real broker when REDIS_URL is set."""

import uuid

from config.env import database_config, env
from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-key"  # noqa: S105
DATABASES = {"default": database_config(allow_embedded=True)}
# A Celery worker started by an integration test works on the test database pytest-django made.
if env.str("FENRUN_TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env.str("FENRUN_TEST_DATABASE_NAME")
# Between transactional tests Django empties every table with one TRUNCATE, which the ledger
# refuses (ledger migration 0010) unless the connection declares its database disposable. Only
# the test settings and the benchmarks do; the tests run as the owner of the tables.
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["options"] = f"{_options.get('options', '')} -c fenrun.allow_ledger_truncate=on".strip()
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; never in production
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.str("DJANGO_MEDIA_ROOT", default="/tmp/fenrun-test-media")  # noqa: S108
# A fresh cache namespace per run: allauth's rate-limit and used-TOTP-code keys from an earlier
# run (Redis keeps them) must not leak into this one.
for _alias in CACHES.values():  # noqa: F405
    _alias["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}"
