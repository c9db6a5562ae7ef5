"""The test suite: real PostgreSQL (DATABASE_URL or embedded), real broker when REDIS_URL is set."""

from config.env import database_config, env
from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-key"  # noqa: S105
DATABASES = {"default": database_config(allow_embedded=True)}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; never in production
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.str("DJANGO_MEDIA_ROOT", default="/tmp/fenrun-test-media")  # noqa: S108
