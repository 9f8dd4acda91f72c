"""gunicorn's settings for Blipay, read by every way of starting it (`manage.py serve`, the
Procfile, deploy/systemd): threaded workers, since Blipay's views are synchronous."""

import os

wsgi_app = "blipay.wsgi:application"
bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
# 2 per core + 1, as gunicorn advises; capped so a big machine doesn't open more database
# connections (workers times threads) than PostgreSQL is worth giving one deployment.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * len(os.sched_getaffinity(0)) + 1, 9))
threads = int(os.environ.get("BLIPAY_WEB_THREADS", "4"))
graceful_timeout = 10
accesslog = "-"
