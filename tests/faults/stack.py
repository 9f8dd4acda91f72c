"""The system under fault: a private RabbitMQ node, a fresh PostgreSQL database and
`manage.py serve` (web, relay, beat, consumers under supervisord) on both.

Private, so stopping the broker or terminating database connections touches nothing but
this run: not the machine's broker, not another test's database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings

from tests.rabbitmq_nodes import Node, rabbitmq_node
from tests.serve_runner import Runner

BANK_SECRET = "blipay-faults-bank-secret"
STAFF_USER = "faults"


@dataclass
class Stack:
    node: Node
    database_url: str
    env: dict[str, str]  # what every Blipay process of the stack runs with
    runner: Runner | None = None
    staff_token: str = ""
    # Findings the audit must list because a fault put them there on purpose (the poison).
    expected_findings: set[tuple[str, str]] = field(default_factory=set)
    poisoned: dict[str, int] = field(default_factory=dict)  # dead-letter queue → messages put there

    @property
    def database(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")

    @property
    def url(self) -> str:
        assert self.runner is not None
        return self.runner.url

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )

    def sql(self, query: str, params: tuple | dict = ()) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True, application_name="blipay-faults-observer") as db:
            cursor = db.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def application_name(self, role: str) -> str:
        return f"blipay-monolith-{role}"


def _admin_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/postgres"))


def fresh_database(base_url: str, suffix: str) -> str:
    """``<base database>_<suffix>``, dropped if left over and created empty; its URL."""
    parts = urlsplit(base_url)
    name = f"{parts.path.lstrip('/') or 'blipay'}_{suffix}"
    with psycopg.connect(_admin_url(base_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(_admin_url(database_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fault_stack(suffix: str, *, base_database_url: str | None = None) -> Iterator[Stack]:
    """Everything started and ready (migrated, a staff token issued, every process RUNNING);
    everything stopped and removed afterwards."""
    base = base_database_url or os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/blipay"
    with ExitStack() as cleanup:
        node = cleanup.enter_context(rabbitmq_node(f"blipay_{suffix}"))
        database_url = fresh_database(base, suffix)
        cleanup.callback(drop_database, database_url)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "blipay.settings",
            "DATABASE_URL": database_url,
            "BROKER_URL": node.url,
            "BLIPAY_RATE_LIMITS": "off",
            "BLIPAY_BANK_WEBHOOK_SECRET": BANK_SECRET,
            "BLIPAY_LOG_LEVEL": "WARNING",
            # The poison reaches the dead-letter queue in ~1 s rather than ~6 s.
            "BLIPAY_CONSUMER_RETRY_BASE_SECONDS": "0.05",
            "DJANGO_SUPERUSER_PASSWORD": "faults-not-a-secret",
        }
        for name in ("BLIPAY_SERVICE", "BLIPAY_PROCESS_ROLE"):
            env.pop(name, None)
        stack = Stack(node=node, database_url=database_url, env=env)
        stack.manage("migrate", "--noinput", "-v0")
        stack.manage("createsuperuser", "--noinput", "--username", STAFF_USER, "--email", "faults@example.test")
        stack.staff_token = stack.manage("staff_token", STAFF_USER).stdout.strip()
        stack.runner = Runner(database_url=database_url, broker_url=node.url, env=env)
        cleanup.callback(stack.runner.stop)
        stack.runner.wait_ready(timeout=120)
        yield stack
