"""The Blipay project: settings, URLs, the Celery app and the platform every module uses."""

from blipay.celery import app as celery_app

__all__ = ["celery_app"]
