"""gunicorn's settings for Blipay, read by every way of starting it (`manage.py serve`, the
Procfile, deploy/systemd): threaded workers, since Blipay's views are synchronous."""

import os

# Imported here, at config load, not inside child_exit: gunicorn calls child_exit from its
# SIGCHLD handler, and a second worker dying while the first call was still importing
# prometheus_client ran the handler again mid-import ("partially initialized module"),
# which left a traceback in the master's log at a stop.
from prometheus_client import multiprocess

wsgi_app = "blipay.wsgi:application"
bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
# 2 per core + 1, as gunicorn advises; capped so a big machine doesn't open more database
# connections (workers times threads) than PostgreSQL is worth giving one deployment.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * len(os.sched_getaffinity(0)) + 1, 9))
threads = int(os.environ.get("BLIPAY_WEB_THREADS", "4"))
graceful_timeout = 10
# No access log of gunicorn's own: Blipay writes one line per request (the logger
# blipay.http), in the deployment's log format, with its request id and route.
accesslog = None


def child_exit(server: object, worker: object) -> None:
    """A dead worker's metrics files stop counting as live (prometheus-client's multiprocess
    mode, on when ``manage.py serve`` sets PROMETHEUS_MULTIPROC_DIR)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
