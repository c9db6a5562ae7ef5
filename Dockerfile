# The production image: gunicorn serves Django; the same image runs the Celery worker and beat.
FROM python:3.13-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

# gettext for compilemessages; pango for WeasyPrint (the CJK font ships in apps/contracts/rendering/fonts).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements/prod.lock requirements/prod.lock
RUN pip install --require-hashes -r requirements/prod.lock

COPY . .
# collectstatic needs settings but no secrets or database: give it throwaway values at build time only.
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build DJANGO_ALLOWED_HOSTS=build \
    python manage.py collectstatic --no-input \
    && python manage.py compilemessages --ignore=.venv

RUN useradd --system --uid 10001 fenrun && mkdir -p /app/media && chown fenrun /app/media
USER fenrun
EXPOSE 8000
# gthread, 2 processes of 8 threads on 2 cores: a thread waiting on PostgreSQL leaves the CPU to
# another (README, Production stack; the figures behind it: docs/reliability.md, "make load").
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--worker-class", "gthread", "--threads", "8", "--access-logfile", "-"]
