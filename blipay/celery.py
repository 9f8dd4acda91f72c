"""The Celery app. It runs the outbox relay (kicked on commit, swept by beat)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blipay.settings")

app = Celery("blipay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
