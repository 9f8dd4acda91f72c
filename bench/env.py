"""What the bench needs around it: its database, the broker's STOMP port, child processes."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
STOMP_ADDRESS = ("127.0.0.1", 61613)


class BenchSetupError(RuntimeError):
    """The bench can't run here; the message says what to do."""


def check_urls() -> None:
    """The bench only ever talks to PostgreSQL and RabbitMQ on this machine."""
    database, broker = os.environ.get("DATABASE_URL", ""), os.environ.get("BROKER_URL", "")
    if urlsplit(database).scheme not in {"postgres", "postgresql"}:
        raise BenchSetupError("DATABASE_URL must be postgres://… on 127.0.0.1 (run it with `make bench`)")
    if urlsplit(broker).scheme != "amqp":
        raise BenchSetupError("BROKER_URL must be amqp://… on 127.0.0.1 (run it with `make bench`)")
    for url in (database, broker):
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            raise BenchSetupError(f"the bench only runs against 127.0.0.1, not {urlsplit(url).hostname}")


def recreate_database(settings_dict: dict) -> None:
    """Drop and create the bench's own database, so every run starts from the same state."""
    name = settings_dict["NAME"]
    if not name.startswith("blipay_bench"):
        raise BenchSetupError(f"refusing to recreate {name!r}: the bench's database is named blipay_bench…")
    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **_server(settings_dict)) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(settings_dict: dict) -> None:
    """Drop a database the bench made (figure 6's service database) once its figure is done."""
    name = settings_dict["NAME"]
    if not name.startswith("blipay_bench"):
        raise BenchSetupError(f"refusing to drop {name!r}: the bench's databases are named blipay_bench…")
    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **_server(settings_dict)) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _server(settings_dict: dict) -> dict:
    return {
        "host": settings_dict["HOST"],
        "port": settings_dict["PORT"],
        "user": settings_dict["USER"],
        "password": settings_dict["PASSWORD"] or None,
    }


def _port_open(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return False
    return True


def ensure_stomp(*, timeout: float = 60.0) -> bool:
    """Enable RabbitMQ's STOMP plugin if its port is closed; True if the bench enabled it."""
    if _port_open(STOMP_ADDRESS):
        return False
    try:
        subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_stomp"], check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchSetupError(f"could not enable rabbitmq_stomp (needed by the anchor): {exc!r}") from exc
    deadline = time.monotonic() + timeout
    while not _port_open(STOMP_ADDRESS):
        if time.monotonic() > deadline:
            raise BenchSetupError(f"STOMP port {STOMP_ADDRESS} still closed after enabling rabbitmq_stomp")
        time.sleep(0.25)
    return True


def ensure_wrk() -> str:
    """The path of ``wrk`` (the load generator of figures 5 and 6), installed from Debian if missing."""
    return ensure_command("wrk", package="wrk")


def wrk_run(argv: Sequence[str], *, seconds: float) -> dict:
    """Run wrk (``argv``, with one of the bench's Lua scripts, which end by printing a
    ``BENCHJSON {…}`` line) and return that line's result."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {done.returncode}): {done.stderr.strip() or done.stdout[-500:]}")
    return json.loads(line.removeprefix("BENCHJSON "))


def ensure_pgbench() -> str:
    """The path of ``pgbench`` (the anchor of ``api_payments_vs_sql``): PostgreSQL's server
    package ships it, so it is there wherever the bench's PostgreSQL runs."""
    return ensure_command("pgbench", package="postgresql-15")


def ensure_command(command: str, *, package: str) -> str:
    """The path of ``command``, after ``apt-get install -y <package>`` (and ``apt-get update``
    first if needed) when it is missing."""
    found = _which(command)
    if found:
        return found
    try:
        subprocess.run(["apt-get", "install", "-y", package], check=False, capture_output=True, timeout=300)
        if not _which(command):
            subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=300)
            subprocess.run(["apt-get", "install", "-y", package], check=True, capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchSetupError(f"could not install {command} (apt-get install -y {package}): {exc!r}") from exc
    found = _which(command)
    if not found:
        raise BenchSetupError(f"{command} is still missing after apt-get install -y {package}")
    return found


def _which(command: str) -> str | None:
    # nginx lives in /usr/sbin, which a user's PATH may lack.
    return shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")


def vhost_create(name: str) -> str:
    """A fresh RabbitMQ virtual host for the block's processes; the BROKER_URL that reaches it.

    Figure 5 relays real Blipay events (payment.saved, …): in a vhost of its own they never
    reach the module queues of a Blipay running on the default vhost.
    """
    if not name.startswith("blipay_bench"):
        raise BenchSetupError(f"refusing to recreate vhost {name!r}: the bench's vhosts are named blipay_bench…")
    parts = urlsplit(os.environ["BROKER_URL"])
    user = parts.username or "guest"
    try:
        vhost_delete(name)
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, capture_output=True, timeout=60)
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", name, user, ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchSetupError(f"could not create the RabbitMQ vhost {name}: {exc!r}") from exc
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


def vhost_delete(name: str) -> None:
    """Drop the vhost with every queue and message in it (a no-op when it doesn't exist)."""
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=False, capture_output=True, timeout=60)


def consumed_queues_depth(vhost: str) -> int:
    """Messages ready or unacknowledged in the vhost's queues that have a consumer (a queue
    nobody reads, such as a dead-letter queue, can't drain and doesn't count)."""
    done = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers", "messages", "consumers"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = [line.split() for line in done.stdout.splitlines() if line.strip()]
    return sum(int(messages) for messages, consumers in rows if int(consumers) > 0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def child_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONUNBUFFERED": "1", **(overrides or {})}


@contextmanager
def child(name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Run ``argv`` (a Python module or script of this repo) for the block; its output goes to a log.

    ``env`` overrides variables of the bench's environment (e.g. ``BROKER_URL``).
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / f"{name}.log").open("w") as log:
        process = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=child_env(env), stdout=log, stderr=log)
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen, *, grace: float = 10.0) -> None:
    """End one child the bench started, by its pid: SIGTERM, then SIGKILL after ``grace``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)
