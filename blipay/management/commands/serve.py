import signal
import subprocess
import sys
import threading
from contextlib import ExitStack, suppress

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management.base import BaseCommand, CommandParser
from django.core.servers.basehttp import run
from django.core.wsgi import get_wsgi_application
from django.db import connection

from blipay.events.consumers import consumers_in_threads
from blipay.events.errors import BrokerUnavailable
from blipay.events.relay import relay_in_process


class Command(BaseCommand):
    help = (
        "Serve the API and the admin, and run the relay and the consumers, in the foreground "
        "until Ctrl-C. On the embedded defaults everything runs in this one process (SQLite, "
        "in-process broker). With BROKER_URL=amqp://… it starts a Celery worker with beat "
        "(the relay) and the consumers as child processes, against the real servers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.PORT, help="HTTP port (default: PORT or 8000)")
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")

    def handle(self, *args, port: int, host: str, **options) -> None:
        signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: children are ended too
        with ExitStack() as stack:
            if settings.BROKER_URL.startswith("memory://"):
                stack.enter_context(consumers_in_threads())
                stop = threading.Event()
                stack.callback(stop.set)
                threading.Thread(target=_sweep, args=(stop,), daemon=True, name="relay-sweep").start()
                self.stdout.write("embedded: relay and consumers run in this process")
            else:
                for child in _start_children():
                    stack.callback(_end, child)
                self.stdout.write("real servers: Celery worker + beat and the consumers run as child processes")
            self.stdout.write(
                self.style.SUCCESS(f"API: http://{host}:{port}/api/docs/   admin: http://{host}:{port}/admin/")
            )
            with suppress(KeyboardInterrupt):
                run(host, port, StaticFilesHandler(get_wsgi_application()), threading=True)


def _start_children() -> list[subprocess.Popen]:
    # Beat keeps its schedule state under var/, not in the source tree.
    schedule = settings.VAR_DIR / "celerybeat-schedule"
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Each deployment's worker has its own node name: two on one broker would fight over it.
    node = f"{settings.BLIPAY_DEPLOYMENT}@%h"
    celery = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "blipay",
        "worker",
        "--beat",
        "-s",
        str(schedule),
        "-c",
        "2",
        "-n",
        node,
    ]
    consume = [sys.executable, "manage.py", "consume", "--all"]
    return [subprocess.Popen(command, cwd=settings.BASE_DIR) for command in (celery, consume)]


def _end(child: subprocess.Popen) -> None:
    child.terminate()
    child.wait(15)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _sweep(stop: threading.Event) -> None:
    """Beat's job in the embedded mode: relay whatever a lost kick left behind."""
    while not stop.wait(settings.BLIPAY_EVENTS["RELAY_SWEEP_SECONDS"]):
        try:
            relay_in_process()
        except BrokerUnavailable:
            continue
        finally:
            connection.close()
