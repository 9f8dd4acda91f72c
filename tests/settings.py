"""Blipay's settings plus a test-only module (tests.eventsink) that emits and consumes."""

from blipay.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.eventsink"]  # noqa: F405
ROOT_URLCONF = "tests.urls"
# Tests kick the relay in the committing thread: no Celery worker to wait for.
CELERY_TASK_ALWAYS_EAGER = True
BLIPAY_EVENTS = {**BLIPAY_EVENTS, "CONSUMER_RETRY_BASE_SECONDS": 0.01, "CONSUMER_MAX_ATTEMPTS": 3}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The limits stay on, so their code runs in every test, but far above what a test sends.
BLIPAY_RATE_LIMITS = {"registration": "10000/minute", "failed_auth": "10000/minute", "writes": "10000/minute"}
# Tests write the strangler's counters themselves (strangler.traffic.flush), when they read them.
BLIPAY_STRANGLER = {**BLIPAY_STRANGLER, "FLUSH_SECONDS": 3600}  # noqa: F405
