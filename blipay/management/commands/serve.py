import signal
import subprocess
import sys
import threading

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management.base import BaseCommand, CommandParser
from django.core.servers.basehttp import run
from django.core.wsgi import get_wsgi_application
from django.db import connection

from blipay.events.consumers import ModuleConsumer
from blipay.events.errors import BrokerUnavailable
from blipay.events.relay import relay_in_process
from blipay.events.subscriptions import consuming_modules


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
        stop = threading.Event()
        children: list[subprocess.Popen] = []
        consumers: list[ModuleConsumer] = []
        if settings.BROKER_URL.startswith("memory://"):
            consumers = [ModuleConsumer(module) for module in consuming_modules()]
            for consumer in consumers:
                threading.Thread(target=_consume, args=(consumer,), daemon=True, name=consumer.module).start()
            threading.Thread(target=_sweep, args=(stop,), daemon=True, name="relay-sweep").start()
            self.stdout.write("embedded: relay and consumers run in this process")
        else:
            celery = [sys.executable, "-m", "celery", "-A", "blipay", "worker", "--beat", "-l", "info", "-c", "2"]
            children.append(subprocess.Popen(celery, cwd=settings.BASE_DIR))
            children.append(subprocess.Popen([sys.executable, "manage.py", "consume", "--all"], cwd=settings.BASE_DIR))
            self.stdout.write(
                f"real servers: Celery worker + beat and consumers started (pids {[c.pid for c in children]})"
            )
        self.stdout.write(
            self.style.SUCCESS(f"API: http://{host}:{port}/api/docs/   admin: http://{host}:{port}/admin/")
        )
        try:
            run(host, port, StaticFilesHandler(get_wsgi_application()), threading=True)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            for consumer in consumers:
                consumer.should_stop = True
            for child in children:
                child.terminate()
            for child in children:
                child.wait(15)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _consume(consumer: ModuleConsumer) -> None:
    try:
        consumer.run()
    finally:
        connection.close()


def _sweep(stop: threading.Event) -> None:
    """Beat's job in the embedded mode: relay whatever a lost kick left behind."""
    while not stop.wait(settings.BLIPAY_EVENTS["RELAY_SWEEP_SECONDS"]):
        try:
            relay_in_process()
        except BrokerUnavailable:
            continue
        finally:
            connection.close()
