"""The processes that move outbox rows to the broker, each started for one figure.

- ours, standalone: ``manage.py relay`` (the loop the operator runs; it calls ``relay_pending``);
- ours, production: a Celery worker taking the relay kicks ``emit()`` queues after each commit;
- the anchor: django-outbox-pattern's own ``manage.py publish`` (STOMP, so the plugin is enabled).
"""

import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.conf import settings

from bench import env
from blipay.events.broker import connect

QUEUE = settings.CELERY_TASK_DEFAULT_QUEUE  # the bench's own: bench.celery


@contextmanager
def our_relay() -> Iterator[subprocess.Popen]:
    with env.child("relay", ["manage.py", "relay", "--idle-sleep", "0.05"]) as process:
        yield process


@contextmanager
def anchor_relay() -> Iterator[subprocess.Popen]:
    env.ensure_stomp()
    with env.child("anchor-publish", ["manage.py", "publish"]) as process:
        yield process


@contextmanager
def celery_worker(
    *, name: str = "celery-worker", overrides: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """The worker as ``manage.py serve`` starts it (prefork, two processes), on the bench's queue, no beat.

    With ``overrides`` (another ``BROKER_URL``) the queue lives, and is dropped, elsewhere.
    """
    # Celery's own log level, as serve's: at -l info it wrote a JSON line per relay kick and
    # per email task, megabytes a figure, on the cores the figure measures.
    argv = ["-m", "celery", "-A", "blipay", "worker", "-Q", QUEUE, "-c", "2", "-n", "bench@%h"]
    try:
        with env.child(name, argv, env=overrides) as process:
            yield process
    finally:
        if not overrides:
            with connect() as broker:
                broker.default_channel.queue_delete(QUEUE)
