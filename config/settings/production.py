"""Production: every secret comes from the environment; refuses to start without them."""

from config.env import database_config, env, required
from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = required(
    "DJANGO_SECRET_KEY",
    "Set it to a long random string (python -c 'import secrets; print(secrets.token_urlsafe(64))').",
)
DATABASES = {"default": database_config(allow_embedded=False)}
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[]) or [
    required("DJANGO_ALLOWED_HOSTS", "Comma-separated host names.")
]

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# The container healthcheck calls /health/ over plain HTTP on loopback.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
ALLOWED_HOSTS += ["127.0.0.1", "localhost"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=False)
