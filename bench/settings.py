"""Blipay's settings, pointed at the bench's own database and Celery queue.

Every process of the bench (itself, the relays, the anchor, the Celery worker) runs with
``DJANGO_SETTINGS_MODULE=bench.settings``, so they share one database, ``blipay_bench`` on
the server ``DATABASE_URL`` names, and never touch the development or test databases.
"""

import os

from blipay.settings import *  # noqa: F403

BENCH_DATABASE = os.environ.get("BENCH_DATABASE_NAME", "blipay_bench")
DATABASES = {"default": {**DATABASES["default"], "NAME": BENCH_DATABASE}}  # noqa: F405
# The relay kicks go to the bench's own Celery queue: a worker of the test suite or of
# `make run` on the same broker never takes them.
CELERY_TASK_DEFAULT_QUEUE = "bench.celery"
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "blipay": {"level": "WARNING"}}}  # noqa: F405
# The notifications module emails every balance change (a Celery task per payment). The
# console backend printed each email through Celery's log, megabytes a figure; a real mail
# server costs the machine a network write. The dummy backend costs neither: the task, its
# database reads and its emailed_at update still run.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
