import os
import signal
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.core.servers.basehttp import run
from django.core.wsgi import get_wsgi_application
from django.db import connection

from blipay.events.consumers import consumers_in_threads
from blipay.events.errors import BrokerUnavailable
from blipay.events.relay import relay_in_process
from blipay.management.processes import processes, run_dir, supervisord_config


class Command(BaseCommand):
    help = (
        "Serve the API and the admin, and run the relay and the consumers, in the foreground "
        "until Ctrl-C or SIGTERM. On the embedded defaults everything runs in this one process "
        "(SQLite, in-process broker). With BROKER_URL=amqp://… this process becomes supervisord, "
        "which runs gunicorn, a Celery worker (the relay), one Celery beat and the consumers, and "
        "restarts any of them that dies. BLIPAY_SERVICE names the deployment (default: monolith): "
        "its processes are <deployment>-web, -worker, -beat and -consumers, and its supervisor's "
        "files live in $BLIPAY_VAR_DIR/run/<deployment>/ (see supervisord.conf there for "
        "supervisorctl)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.PORT, help="HTTP port (default: PORT or 8000)")
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")

    def handle(self, *args, port: int, host: str, **options) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        urls = f"API: http://{host}:{port}/api/docs/   admin: http://{host}:{port}/admin/"
        if settings.BROKER_URL.startswith("memory://"):
            self._embedded(host, port, urls)
        else:
            self._supervised(host, port, urls)

    def _embedded(self, host: str, port: int, urls: str) -> None:
        signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C
        stop = threading.Event()
        with consumers_in_threads():
            threading.Thread(target=_sweep, args=(stop,), daemon=True, name="relay-sweep").start()
            self.stdout.write("embedded: relay and consumers run in this process")
            self.stdout.write(self.style.SUCCESS(urls))
            try:
                run(host, port, get_wsgi_application(), threading=True)
            except KeyboardInterrupt:
                # A second Ctrl-C while the consumers stop would interrupt their clean stop.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                self.stdout.write("stopping the consumers…")
            finally:
                stop.set()

    def _supervised(self, host: str, port: int, urls: str) -> None:
        children = processes(host=host, port=port)
        run = run_dir()
        run.mkdir(parents=True, exist_ok=True)
        config = run / "supervisord.conf"
        config.touch(mode=0o600)
        config.chmod(0o600)  # it holds supervisorctl's password
        config.write_text(supervisord_config(children))
        # Every child counts its metrics in files here, so a scrape of any web worker adds up the
        # whole deployment's (prometheus-client's multiprocess mode). Emptied at each start: the
        # counters start again from zero, which Prometheus reads as a restart.
        metrics = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or run / "metrics")
        metrics.mkdir(parents=True, exist_ok=True)
        for stale in metrics.glob("*.db"):
            stale.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)  # supervisord's children inherit it
        self.stdout.write(f"supervisord runs {', '.join(child.name for child in children)}; config: {config}")
        self.stdout.write(self.style.SUCCESS(urls))
        sys.stdout.flush()
        # supervisord takes this process's place: Ctrl-C and SIGTERM reach it alone (each child
        # has a process group of its own) and it stops every child before it exits.
        os.execv(sys.executable, [sys.executable, "-m", "supervisor.supervisord", "-c", str(config)])  # noqa: S606


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
