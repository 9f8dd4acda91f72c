"""Blipay settings: every knob is read from the environment here, once.

With nothing set, Blipay runs on embedded defaults: a SQLite file under ``var/`` and an
in-process message broker, so one process serves the whole system. ``DATABASE_URL``
(``postgres://…``) and ``BROKER_URL`` (``amqp://…``) switch to the real servers.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BLIPAY_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database(url: str | None) -> dict:
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "blipay.sqlite3",
            # IMMEDIATE takes the write lock when a transaction starts, so concurrent
            # writers queue up instead of failing with "database is locked" on upgrade.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
            # A file, not shared-cache memory: threads in tests then lock like real processes.
            "TEST": {"NAME": VAR_DIR / "test.sqlite3"},
        }
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"DATABASE_URL must be postgres://…, not {parts.scheme}://")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "blipay",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": parts.port or 5432,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": f"test_{unquote(parts.path.lstrip('/')) or 'blipay'}"},
    }


SECRET_KEY = os.environ.get("BLIPAY_SECRET_KEY", "blipay-dev-only-secret-change-me")
DEBUG = _env_bool("BLIPAY_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("BLIPAY_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
PORT = int(os.environ.get("PORT", "8000"))
# The deployment this process belongs to: empty for the monolith, else the name of an
# extracted service. It names the deployment's processes and their run directory, so
# several deployments can run side by side on one machine.
BLIPAY_SERVICE = os.environ.get("BLIPAY_SERVICE", "").strip()
BLIPAY_DEPLOYMENT = BLIPAY_SERVICE or "monolith"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_outbox_pattern",
    "blipay",
    "blipay.events",
    "blipay.api",
    "apps.members",
    "apps.merchants",
    "apps.wallet",
    "apps.payments",
    "apps.notifications",
    "apps.promotions",
    "apps.overview",
]

MIDDLEWARE = [
    "blipay.api.middleware.RequestIDMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, the API docs') from STATIC_ROOT, filled by collectstatic.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "blipay.urls"
WSGI_APPLICATION = "blipay.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASE_URL = os.environ.get("DATABASE_URL") or None
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["blipay.formats"]  # times shown with their zone
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing one at start-up

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "blipay.api.schema.BlipaySchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["blipay.api.auth.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": ["blipay.api.limits.WriteThrottle"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "blipay.api.errors.exception_handler",
}

# Rate limits (DRF rate strings). BLIPAY_RATE_LIMITS=off switches them all off.
BLIPAY_RATE_LIMITS = (
    None
    if os.environ.get("BLIPAY_RATE_LIMITS", "").strip().lower() == "off"
    else {"registration": "20/minute", "failed_auth": "20/minute", "writes": "600/minute"}
)
# The bank signs its payment confirmations with this (HMAC-SHA256).
BLIPAY_BANK_WEBHOOK_SECRET = os.environ.get("BLIPAY_BANK_WEBHOOK_SECRET", "blipay-dev-bank-secret")
BLIPAY_TOPUP_TTL_HOURS = int(os.environ.get("BLIPAY_TOPUP_TTL_HOURS", "24"))
EMAIL_BACKEND = os.environ.get("BLIPAY_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = "Blipay <no-reply@blipay.test>"
SPECTACULAR_SETTINGS = {
    "TITLE": "Blipay API",
    "VERSION": "1.0.0",
    # Swagger UI's assets are served from here, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"blipay": {"handlers": ["console"], "level": os.environ.get("BLIPAY_LOG_LEVEL", "INFO")}},
}

# --- the event backbone -------------------------------------------------------------
# One URL names the message broker for both the domain events and Celery's own tasks.
# memory:// is kombu's in-process transport: the embedded default.
BROKER_URL = os.environ.get("BROKER_URL") or "memory://"
BLIPAY_EVENTS = {
    "EXCHANGE": "blipay.events",
    # Kick the relay (a Celery task) after each commit that emitted. Off when a standalone
    # `manage.py relay` loop drains the outbox instead.
    "RELAY_ON_COMMIT": _env_bool("BLIPAY_RELAY_ON_COMMIT", True),
    "RELAY_BATCH_SIZE": int(os.environ.get("BLIPAY_RELAY_BATCH_SIZE", "500")),
    "RELAY_CONFIRM_TIMEOUT": float(os.environ.get("BLIPAY_RELAY_CONFIRM_TIMEOUT", "10")),
    # A row the broker refuses this many times ends as failed (retryable in the admin).
    "RELAY_MAX_ATTEMPTS": int(os.environ.get("BLIPAY_RELAY_MAX_ATTEMPTS", "10")),
    "RELAY_SWEEP_SECONDS": float(os.environ.get("BLIPAY_RELAY_SWEEP_SECONDS", "5")),
    "OUTBOX_RETENTION_DAYS": int(os.environ.get("BLIPAY_OUTBOX_RETENTION_DAYS", "30")),
    "CONSUMER_PREFETCH": int(os.environ.get("BLIPAY_CONSUMER_PREFETCH", "200")),
    # Up to this many arrived messages are applied in one transaction, then acked.
    "CONSUMER_BATCH": int(os.environ.get("BLIPAY_CONSUMER_BATCH", "100")),
    "CONSUMER_MAX_ATTEMPTS": int(os.environ.get("BLIPAY_CONSUMER_MAX_ATTEMPTS", "5")),
    "CONSUMER_RETRY_BASE_SECONDS": float(os.environ.get("BLIPAY_CONSUMER_RETRY_BASE_SECONDS", "0.2")),
}

CELERY_BROKER_URL = BROKER_URL
CELERY_TASK_ALWAYS_EAGER = _env_bool("BLIPAY_CELERY_EAGER", BROKER_URL.startswith("memory://"))
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# Celery closes Django's database connections after every task unless told to reuse them:
# a reconnect per relay kick cost PostgreSQL half a core under load (make bench, figure 5).
CELERY_DB_REUSE_MAX = 1000
CELERY_BEAT_SCHEDULE = {
    "relay-sweep": {"task": "blipay.events.relay", "schedule": BLIPAY_EVENTS["RELAY_SWEEP_SECONDS"]},
    "outbox-cleanup": {"task": "blipay.events.cleanup", "schedule": 3600.0},
    "topups-expire": {"task": "payments.expire_topups", "schedule": 60.0},
    "idempotency-keys-forget": {"task": "blipay.api.forget_old_keys", "schedule": 3600.0},
}
