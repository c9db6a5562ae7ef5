"""Development: `make run`. Embedded PostgreSQL and broker unless DATABASE_URL / REDIS_URL are set."""

from config.env import database_config, env
from config.settings.base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# A development-only key: production.py refuses to start without DJANGO_SECRET_KEY.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-development-key-do-not-use-in-production")
DATABASES = {"default": database_config(allow_embedded=True)}
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
