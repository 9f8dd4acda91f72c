"""The notifications service as a second real process, for the extraction tests: its own
PostgreSQL database, the monolith's broker (the test virtual host), a loopback port."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import urllib3
from django.conf import settings
from kombu.exceptions import ChannelError

from blipay.events.broker import connect, queue_name
from tests.helpers import free_port
from tests.observed import METRICS_TOKEN

SERVICE = "notifications"
ROTATED_KEY = "the-services-new-key"  # the service runs mid-rotation: the monolith's key is its previous one


@dataclass
class Service:
    url: str
    database: str
    process: subprocess.Popen
    mail_dir: Path

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        db = settings.DATABASES["default"]
        with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=self.database) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def welcome_emails(self) -> list[str]:
        """The recipients of the welcome emails this service sent (file backend)."""
        sent = []
        for path in self.mail_dir.glob("*.log"):
            for message in path.read_text().split("-" * 79):
                if "Subject: Welcome to Blipay" in message:
                    sent += [line[4:].strip() for line in message.splitlines() if line.startswith("To: ")]
        return sent

    def settled(self) -> bool:
        """Nothing is on its way into the service: its queue holds no message, ready or
        unacknowledged (it acks only after it committed what a message did), and its own
        outbox has nothing pending that could come back to it."""
        vhost = unquote(urlsplit(settings.BROKER_URL).path[1:]) or "/"
        listed = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers", "name", "messages"],
            check=False,
            capture_output=True,
            text=True,
        )
        if listed.returncode != 0:  # the broker is restarting: nothing can be told yet
            return False
        messages = dict(line.split("\t") for line in listed.stdout.splitlines() if line.strip())
        pending = self.sql("SELECT count(*) FROM published WHERE status = 1")[0][0]  # StatusChoice.SCHEDULE
        return messages.get(queue_name(SERVICE, deployment=SERVICE)) == "0" and pending == 0

    def state(self) -> str:
        """What the service holds and has waiting, for a wait's failure message."""
        vhost = unquote(urlsplit(settings.BROKER_URL).path[1:]) or "/"
        queues = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers", "name", "messages", "consumers"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        applied = self.sql("SELECT routing_key, correlation_id FROM blipay_inbox ORDER BY applied_at DESC LIMIT 5")
        failed = self.sql("SELECT msg_id, headers ->> 'error' FROM received LIMIT 5")
        return f"queues {' | '.join(queues.split())}; last applied {applied}; failed {failed}"

    def pids(self, pattern: str) -> list[int]:
        # serve became supervisord; the deployment's processes are its children.
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid), "-f", pattern], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in found.stdout.split()]


def _admin() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True)


def _delete_queues() -> None:
    with connect() as broker:
        for name in (queue_name(SERVICE, deployment=SERVICE), f"{queue_name(SERVICE, deployment=SERVICE)}.dead"):
            broker.channel().queue_delete(name)  # RabbitMQ answers ok for a queue that isn't there


def start() -> Service:
    db = settings.DATABASES["default"]
    database = f"{db['NAME']}_{SERVICE}_service"
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    _delete_queues()  # a queue left by an earlier run would hold that run's events
    var = Path(tempfile.mkdtemp(prefix="blipay-service-"))
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blipay.settings",
        "BLIPAY_SERVICE": SERVICE,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{database}",
        "BROKER_URL": settings.BROKER_URL,
        "BLIPAY_VAR_DIR": str(var),
        "BLIPAY_INTERNAL_KEY": ROTATED_KEY,
        "BLIPAY_INTERNAL_KEY_PREVIOUS": settings.BLIPAY_INTERNAL_KEY,
        "BLIPAY_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "BLIPAY_EMAIL_FILE_PATH": str(var / "mail"),
        "BLIPAY_CONSUMER_RETRY_BASE_SECONDS": "0.01",
        "WEB_CONCURRENCY": "2",
        "BLIPAY_METRICS_TOKEN": METRICS_TOKEN,
    }
    manage = [sys.executable, "manage.py"]
    for command in (["service_prepare"], ["migrate", "--noinput", "-v0"]):
        subprocess.run([*manage, *command], env=env, cwd=settings.BASE_DIR, check=True, capture_output=True)
    process = subprocess.Popen(
        [*manage, "serve", "--port", str(port)],
        env=env,
        cwd=settings.BASE_DIR,
        start_new_session=True,
        stdout=(var / "serve.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    service = Service(url=f"http://127.0.0.1:{port}", database=database, process=process, mail_dir=var / "mail")
    _wait_ready(service, var)
    return service


def _wait_ready(service: Service, var: Path) -> None:
    http = urllib3.PoolManager(retries=False, timeout=2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"the service exited: {(var / 'serve.log').read_text()[-3000:]}")
        try:
            answer = http.request("GET", f"{service.url}/api/v1/members/x/notifications")
            with connect() as broker:
                consumers = (
                    broker.channel().queue_declare(queue_name(SERVICE, deployment=SERVICE), passive=True).consumer_count
                )
            if answer.status == 401 and consumers:
                return
        except (urllib3.exceptions.HTTPError, ChannelError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the service did not start: {(var / 'serve.log').read_text()[-3000:]}")


def stop(service: Service) -> None:
    os.killpg(service.process.pid, signal.SIGTERM)
    try:
        service.process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait()
    _delete_queues()
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{service.database}" WITH (FORCE)')
