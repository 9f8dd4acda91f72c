"""Blipay settings: every knob is read from the environment here, once.

With nothing set, Blipay runs on embedded defaults: a SQLite file under ``var/`` and an
in-process message broker, so one process serves the whole system. ``DATABASE_URL``
(``postgres://…``, parsed by dj-database-url) and ``BROKER_URL`` (``amqp://…``, or kombu's
failover list ``amqp://a;amqp://b``) switch to the real servers; ``REDIS_URL`` puts the
cache in Redis. ``BLIPAY_ENV=production`` is the production profile (HTTPS only, no
development secret accepted); its absence is development, which plain HTTP, tests and
local runs on the real servers need.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

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
    if not url.startswith(("postgres://", "postgresql://")):
        raise ValueError(f"DATABASE_URL must be postgres://…, not {url.partition(':')[0]}://")
    database = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    for key, default in {"NAME": "blipay", "USER": "postgres", "HOST": "127.0.0.1", "PORT": 5432}.items():
        database[key] = database.get(key) or default
    database["TEST"] = {"NAME": f"test_{database['NAME']}"}
    if _env_bool("BLIPAY_DB_TRANSACTION_POOLING", False):
        # Behind pgbouncer in transaction mode a connection is lent per transaction: a
        # server-side cursor (QuerySet.iterator(), WITH HOLD outside a transaction) would
        # outlive it on a backend another client gets next (docs/operations.md, Scaling out).
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
    # Which deployment, and which of its processes (set by `manage.py serve`), a connection
    # belongs to, in pg_stat_activity: blipay-monolith-web, blipay-notifications-consumers…
    deployment = os.environ.get("BLIPAY_SERVICE") or "monolith"
    role = os.environ.get("BLIPAY_PROCESS_ROLE", "").strip()
    database.setdefault("OPTIONS", {})["application_name"] = f"blipay-{deployment}" + (f"-{role}" if role else "")
    return database


def _cache(url: str | None) -> dict:
    if url:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


BLIPAY_ENV = os.environ.get("BLIPAY_ENV", "").strip().lower() or "development"
if BLIPAY_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"BLIPAY_ENV={BLIPAY_ENV!r}: it is development (the default) or production")
PRODUCTION = BLIPAY_ENV == "production"
# Secrets with a development default; production refuses to start with any of these.
DEV_SECRETS = {
    "BLIPAY_SECRET_KEY": "blipay-dev-only-secret-change-me",
    "BLIPAY_INTERNAL_KEY": "blipay-dev-internal-key",
    "BLIPAY_BANK_WEBHOOK_SECRET": "blipay-dev-bank-secret",
}


def _secret(name: str) -> str:
    value = os.environ.get(name) or DEV_SECRETS[name]
    if PRODUCTION and value == DEV_SECRETS[name]:
        raise ImproperlyConfigured(
            f"BLIPAY_ENV=production refuses {name}'s development default: set {name} to a secret of your own "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(50))")'
        )
    return value


SECRET_KEY = _secret("BLIPAY_SECRET_KEY")
DEBUG = _env_bool("BLIPAY_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("BLIPAY_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
PORT = int(os.environ.get("PORT", "8000"))
# --- one codebase, two shapes ----------------------------------------------------------
# The monolith runs every module. An extracted service (BLIPAY_SERVICE=notifications) is
# the same code started for its modules alone: their apps, URLs and consumers, on its own
# database, fed by the broker. Each service name maps to the modules it runs.
MODULES = ["members", "merchants", "wallet", "payments", "notifications", "promotions", "overview"]
SERVICE_MODULES = {"notifications": ["notifications"]}
BLIPAY_SERVICE = os.environ.get("BLIPAY_SERVICE", "").strip()
if BLIPAY_SERVICE and BLIPAY_SERVICE not in SERVICE_MODULES:
    raise ValueError(f"BLIPAY_SERVICE={BLIPAY_SERVICE!r}: extractable services are {', '.join(SERVICE_MODULES)}")
# Who this process is: "monolith", or the service's name. It names its queues, X-Served-By,
# its processes and their run directory, so deployments can run side by side on one machine.
BLIPAY_DEPLOYMENT = BLIPAY_SERVICE or "monolith"
BLIPAY_MODULES = SERVICE_MODULES[BLIPAY_SERVICE] if BLIPAY_SERVICE else MODULES


def _services(value: str) -> dict[str, str]:
    """``name=url[,name=url…]`` → {name: url}: the only upstreams the strangler may call."""
    services = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, url = item.partition("=")
        parts = urlsplit(url.strip())
        if (
            not name.strip()
            or parts.scheme not in {"http", "https"}
            or not parts.hostname
            or parts.path not in {"", "/"}
        ):
            raise ValueError(f"BLIPAY_SERVICES: {item!r} is not name=http://host:port")
        services[name.strip()] = f"{parts.scheme}://{parts.netloc}"
    return services


BLIPAY_SERVICES = _services(os.environ.get("BLIPAY_SERVICES", ""))
# The monolith signs the caller's identity for its services with this key (HMAC-SHA256);
# during a rotation signatures made with the previous key are still accepted.
BLIPAY_INTERNAL_KEY = _secret("BLIPAY_INTERNAL_KEY")
BLIPAY_INTERNAL_KEY_PREVIOUS = os.environ.get("BLIPAY_INTERNAL_KEY_PREVIOUS", "") or None
# Proxy hops whose X-Forwarded-For is believed (e.g. the nginx in front); nobody else's.
BLIPAY_TRUSTED_PROXIES = frozenset(
    filter(None, os.environ.get("BLIPAY_TRUSTED_PROXIES", "").replace(" ", "").split(","))
)
BLIPAY_STRANGLER = {
    # Requests in flight to one upstream at once; past it a request falls back at once.
    "UPSTREAM_CONCURRENCY": int(os.environ.get("BLIPAY_STRANGLER_UPSTREAM_CONCURRENCY", "32")),
    # Shadow copies waiting for the comparison worker; past it a copy is skipped and counted.
    "SHADOW_QUEUE": int(os.environ.get("BLIPAY_STRANGLER_SHADOW_QUEUE", "200")),
    # How often each process writes its traffic counters (report and canary analysis read them).
    "FLUSH_SECONDS": float(os.environ.get("BLIPAY_STRANGLER_FLUSH_SECONDS", "1")),
}

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
    "blipay.identity",
    "blipay.api",
    *(f"apps.{module}" for module in BLIPAY_MODULES),
    # The composition root (demo data, the walkthrough) and the router run in the monolith only.
    *([] if BLIPAY_SERVICE else ["apps.demo", "strangler"]),
]

MIDDLEWARE = [
    # Outermost: every request is measured (and traced, when tracing is on), routed or not.
    "blipay.observability.middleware.ObservabilityMiddleware",
    "blipay.api.middleware.RequestIDMiddleware",
    # A body over the upload limit is answered 413 before anything (the strangler too) reads it.
    "blipay.api.middleware.BodySizeLimitMiddleware",
    # Before the strangler: the production profile's SSL redirect and HSTS cover what it
    # routes too (and otherwise it costs a request next to nothing).
    "django.middleware.security.SecurityMiddleware",
    # The monolith routes first, before any other middleware costs the request anything;
    # a service instead refuses any /api/v1/ request without a valid signed identity.
    "blipay.identity.middleware.ServiceIdentityMiddleware"
    if BLIPAY_SERVICE
    else "strangler.middleware.StranglerMiddleware",
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
# A service keeps no credential table: it never sees a credential (blipay.db_router).
DATABASE_ROUTERS = ["blipay.db_router.DeploymentRouter"]
# The rate limits count in the cache: per process by default, shared by every process
# (web, workers) once REDIS_URL names a Redis (so do the used identity nonces, which are
# otherwise kept in a table of the deployment's own database).
REDIS_URL = os.environ.get("REDIS_URL") or None
CACHES = {"default": _cache(REDIS_URL)}
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
    "DEFAULT_AUTHENTICATION_CLASSES": ["blipay.identity.bearer.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": ["blipay.api.limits.WriteThrottle"],
    "DEFAULT_PARSER_CLASSES": ["blipay.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "blipay.api.errors.exception_handler",
}
if BLIPAY_SERVICE:
    # A service never sees credentials: the caller is who the monolith's signature says.
    REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["blipay.identity.middleware.SignedIdentityAuthentication"]
    # Only the monolith can reach a service's API (its requests are signed), so the public
    # host and scheme it forwards are trusted: links and Location then carry the public ones.
    USE_X_FORWARDED_HOST = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if PRODUCTION:
    # HTTPS only: plain HTTP is redirected, browsers told to never try it again (a year,
    # the least the preload list takes), and cookies never sent over it.
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("BLIPAY_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # A scraper on the machine itself reads /metrics from gunicorn's 127.0.0.1 over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if BLIPAY_TRUSTED_PROXIES and not BLIPAY_SERVICE:
        # The proxy in front terminates TLS and says so; only its X-Forwarded-Proto is
        # believed (ForwardedProtoMiddleware drops anyone else's before it is read).
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        MIDDLEWARE.insert(
            MIDDLEWARE.index("blipay.api.middleware.RequestIDMiddleware") + 1,
            "blipay.api.middleware.ForwardedProtoMiddleware",
        )


# Rate limits (DRF rate strings). BLIPAY_RATE_LIMITS=off switches them all off.
BLIPAY_RATE_LIMITS = (
    None
    if os.environ.get("BLIPAY_RATE_LIMITS", "").strip().lower() == "off"
    else {"registration": "20/minute", "failed_auth": "20/minute", "writes": "600/minute"}
)
# The bank signs its payment confirmations with this (HMAC-SHA256).
BLIPAY_BANK_WEBHOOK_SECRET = _secret("BLIPAY_BANK_WEBHOOK_SECRET")
# During a rotation, the old secret: confirmations signed with either are accepted.
BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS = os.environ.get("BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS", "")
BLIPAY_TOPUP_TTL_HOURS = int(os.environ.get("BLIPAY_TOPUP_TTL_HOURS", "24"))
EMAIL_BACKEND = os.environ.get("BLIPAY_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("BLIPAY_EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # the file backend's folder
# Notifications (they carry names, addresses, amounts) and every copy of them (the sent mail
# files, the overview's lines, their events in the outbox and inbox) are deleted once older
# than this; `manage.py notifications purge` and the hourly beat task apply it.
BLIPAY_NOTIFICATION_RETENTION_DAYS = int(os.environ.get("BLIPAY_NOTIFICATION_RETENTION_DAYS", "90"))
DEFAULT_FROM_EMAIL = "Blipay <no-reply@blipay.test>"
SPECTACULAR_SETTINGS = {
    "TITLE": "Blipay API",
    "VERSION": "1.0.0",
    # The schema documents the API, not itself.
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components, so what the server refuses is documented
    # (a required text: minLength 1) without claiming it of the answers.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "blipay.api.schema.link_created_objects",
    ],
    # Swagger UI's assets are served from here, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Logs: one JSON object a line (blipay.observability.logs) by default on the real servers,
# where a log collector reads them; readable text on the embedded default, in a terminal.
BLIPAY_LOG_FORMAT = os.environ.get("BLIPAY_LOG_FORMAT", "").strip().lower() or (
    "text" if (os.environ.get("BROKER_URL") or "memory://").startswith("memory://") else "json"
)
if BLIPAY_LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"BLIPAY_LOG_FORMAT={BLIPAY_LOG_FORMAT!r}: it is json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "blipay.observability.logs.JsonFormatter"},
        "text": {"()": "blipay.observability.logs.TextFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": BLIPAY_LOG_FORMAT}},
    # Blipay's own lines from BLIPAY_LOG_LEVEL up; the libraries' (Django, Celery, kombu)
    # warnings and errors, in the same format.
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "blipay": {"level": os.environ.get("BLIPAY_LOG_LEVEL", "INFO")},
        # Its 4xx warnings repeat blipay.http's access line; its 5xx errors carry the traceback.
        "django.request": {"level": "ERROR"},
    },
}
# Metrics (GET /metrics) for a scraper that sends "Authorization: Bearer <this>"; without
# it only a staff session of the admin may read them.
BLIPAY_METRICS_TOKEN = os.environ.get("BLIPAY_METRICS_TOKEN", "")
# Where every process of the deployment writes its counters (`serve` sets it; see
# docs/operations.md); made here if missing, as prometheus-client can't write to nowhere.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# --- the event backbone -------------------------------------------------------------
# One URL names the message broker for both the domain events and Celery's own tasks.
# memory:// is kombu's in-process transport: the embedded default.
BROKER_URL = os.environ.get("BROKER_URL") or "memory://"
# The type of the modules' queues, their dead-letter queues and Celery's task queue
# (docs/events.md, "Quorum queues"). quorum: replicated by Raft, a message confirmed once a majority of the nodes
# has it on disk, so losing a node loses nothing; the default when BROKER_URL lists several
# nodes (kombu's failover form). classic: one node's queue; the default on a single node,
# where a quorum queue would pay Raft's log and fsync for no replica. A queue that exists
# with the other type must be moved: `manage.py events migrate-queues --to <type>`.
BLIPAY_QUEUE_TYPES = ("classic", "quorum")
BLIPAY_QUEUE_TYPE = os.environ.get("BLIPAY_QUEUE_TYPE") or ("quorum" if ";" in BROKER_URL else "classic")
if BLIPAY_QUEUE_TYPE not in BLIPAY_QUEUE_TYPES:
    raise ImproperlyConfigured(f"BLIPAY_QUEUE_TYPE={BLIPAY_QUEUE_TYPE!r}: use one of {', '.join(BLIPAY_QUEUE_TYPES)}")
BLIPAY_EVENTS = {
    "EXCHANGE": "blipay.events",
    # Queues are named per deployment: the monolith's notifications queue and a service's
    # are two queues, each getting its own copy of every event.
    "QUEUE_PREFIX": f"blipay.service.{BLIPAY_SERVICE}" if BLIPAY_SERVICE else "blipay",
    # Kick the relay (a Celery task) after each commit that emitted. Off when a standalone
    # `manage.py relay` loop drains the outbox instead.
    "RELAY_ON_COMMIT": _env_bool("BLIPAY_RELAY_ON_COMMIT", True),
    "RELAY_BATCH_SIZE": int(os.environ.get("BLIPAY_RELAY_BATCH_SIZE", "500")),
    "RELAY_CONFIRM_TIMEOUT": float(os.environ.get("BLIPAY_RELAY_CONFIRM_TIMEOUT", "10")),
    # A row the broker refuses this many times ends as failed (retryable in the admin).
    "RELAY_MAX_ATTEMPTS": int(os.environ.get("BLIPAY_RELAY_MAX_ATTEMPTS", "10")),
    "RELAY_SWEEP_SECONDS": float(os.environ.get("BLIPAY_RELAY_SWEEP_SECONDS", "5")),
    # A kicked relay task stays this long after the outbox empties, looking again every
    # RELAY_POLL_SECONDS, so the commits meanwhile need no kick of their own (docs/events.md).
    "RELAY_LINGER_SECONDS": float(os.environ.get("BLIPAY_RELAY_LINGER_SECONDS", "0.05")),
    "RELAY_POLL_SECONDS": float(os.environ.get("BLIPAY_RELAY_POLL_SECONDS", "0.005")),
    "QUEUE_TYPE": BLIPAY_QUEUE_TYPE,
    # Quorum queues only: a message delivered this many times without an ack (consumers
    # that died holding it) is dead-lettered. A backstop for a message that kills its
    # consumer; a failing handler is retried in place and never counts here.
    "QUEUE_DELIVERY_LIMIT": int(os.environ.get("BLIPAY_QUEUE_DELIVERY_LIMIT", "50")),
    "OUTBOX_RETENTION_DAYS": int(os.environ.get("BLIPAY_OUTBOX_RETENTION_DAYS", "30")),
    "CONSUMER_PREFETCH": int(os.environ.get("BLIPAY_CONSUMER_PREFETCH", "200")),
    # Up to this many arrived messages are applied in one transaction, then acked.
    "CONSUMER_BATCH": int(os.environ.get("BLIPAY_CONSUMER_BATCH", "100")),
    "CONSUMER_MAX_ATTEMPTS": int(os.environ.get("BLIPAY_CONSUMER_MAX_ATTEMPTS", "5")),
    "CONSUMER_RETRY_BASE_SECONDS": float(os.environ.get("BLIPAY_CONSUMER_RETRY_BASE_SECONDS", "0.2")),
}

CELERY_BROKER_URL = BROKER_URL
# Each deployment's tasks go to its own queue: a service's email task taken by the
# monolith's worker would find no notification row there and send nothing.
CELERY_TASK_DEFAULT_QUEUE = f"blipay.{BLIPAY_DEPLOYMENT}.tasks"
if BLIPAY_QUEUE_TYPE == "quorum":
    # Celery's queue as Celery declares it (a direct exchange of its name), replicated like the
    # events' queues: on a cluster a classic queue whose node is down can be neither declared
    # nor read on another node, which would stop the relay's kicks and beat's sweep with it.
    # `events migrate-queues` moves it too (its arguments: blipay.events.broker.queue_arguments).
    CELERY_TASK_QUEUES = [
        Queue(
            CELERY_TASK_DEFAULT_QUEUE,
            Exchange(CELERY_TASK_DEFAULT_QUEUE, type="direct"),
            routing_key=CELERY_TASK_DEFAULT_QUEUE,
            queue_arguments={"x-queue-type": "quorum"},
        )
    ]
CELERY_TASK_ALWAYS_EAGER = _env_bool("BLIPAY_CELERY_EAGER", BROKER_URL.startswith("memory://"))
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# Celery closes Django's database connections after every task unless told to reuse them:
# a reconnect per relay kick cost PostgreSQL half a core under load (make bench, figure 5).
CELERY_DB_REUSE_MAX = 1000
# Celery's processes log through LOGGING too (JSON lines with the rest), not a format of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "relay-sweep": {"task": "blipay.events.relay", "schedule": BLIPAY_EVENTS["RELAY_SWEEP_SECONDS"]},
    "outbox-cleanup": {"task": "blipay.events.cleanup", "schedule": 3600.0},
    "idempotency-keys-forget": {"task": "blipay.api.forget_old_keys", "schedule": 3600.0},
}
if "notifications" in BLIPAY_MODULES:
    CELERY_BEAT_SCHEDULE["notifications-purge"] = {"task": "notifications.purge", "schedule": 3600.0}
if "payments" in BLIPAY_MODULES:
    CELERY_BEAT_SCHEDULE["topups-expire"] = {"task": "payments.expire_topups", "schedule": 60.0}
if not BLIPAY_SERVICE:
    CELERY_BEAT_SCHEDULE["canary-analysis"] = {"task": "strangler.analyse", "schedule": 5.0}
