"""The Celery app. It runs the outbox relay (kicked on commit, swept by beat)."""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blipay.settings")

app = Celery("blipay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _database_connections_checked(**kwargs: object) -> None:
    """Before each task, as before each web request: close a connection that broke or aged
    out, so the task opens a fresh one. Celery reuses connections across tasks
    (CELERY_DB_REUSE_MAX) without that check, so one PostgreSQL dropped (a restart,
    pg_terminate_backend) failed every relay task until the reuse count ran out: the outbox
    stopped draining (found by the fault suite, tests/faults)."""
    from django.db import close_old_connections

    close_old_connections()
