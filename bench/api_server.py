"""Blipay's API as production serves it, for the figures that load it over HTTP: funded
members and merchants (``bench.api_setup``, in a child process) and gunicorn serving
``blipay.wsgi`` with ``bench.server_settings`` on a RabbitMQ vhost of the figure's own."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from bench import env
from bench.server_urls import CREATE_TABLE

WORKERS = 4  # gunicorn sync workers: 2 per core (see bench/README.md)
AMOUNT = 1_000  # rupiah per payment (api_load.lua sends it)
BALANCE = 100_000_000  # per member: 100,000 payments, far more than a run makes
BARE_PATH = "/bench/bare-insert"


def setup_actors(members: int, actors: Path, overrides: Mapping[str, str]) -> float:
    """Register and fund ``members`` members (and 10 merchants) in a child process; write
    their ``<token> <merchant id>`` lines to ``actors``; return the seconds it took."""
    started = time.perf_counter()
    argv = [
        *(sys.executable, "-m", "bench.api_setup", "--members", str(members), "--merchants", "10"),
        *("--balance", str(BALANCE), "--out", str(actors)),
    ]
    # No relay kicks during the set-up: it drains the events itself at the end.
    child_env = env.child_env({**overrides, "BLIPAY_RELAY_ON_COMMIT": "false"})
    with (env.RESULTS / "api-setup.log").open("w") as log:
        done = subprocess.run(argv, cwd=env.ROOT, env=child_env, stdout=log, stderr=log, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.api_setup failed (exit {done.returncode}): see bench/results/api-setup.log")
    return time.perf_counter() - started


def actor_lines(actors: Path) -> list[tuple[str, str]]:
    return [tuple(line.split()) for line in actors.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class Server:
    url: str
    pid: int  # gunicorn's master: its workers are its children (bench.cpu counts them together)


@contextmanager
def serving(name: str, actors: Path, overrides: Mapping[str, str]) -> Iterator[Server]:
    """gunicorn on a free port for the block, once it answers."""
    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE)  # the bare endpoint, which tells when the workers answer
    port = env.free_port()
    server_env = {**overrides, "DJANGO_SETTINGS_MODULE": "bench.server_settings", "BLIPAY_RATE_LIMITS": "off"}
    with env.child(name, gunicorn_argv(port), env=server_env) as process:
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(url, actors, log=name)
        yield Server(url=url, pid=process.pid)


def gunicorn_argv(port: int) -> list[str]:
    """The bench's gunicorn: WORKERS sync workers on 127.0.0.1:``port``."""
    return [
        *("-m", "gunicorn", "blipay.wsgi:application", "--bind", f"127.0.0.1:{port}"),
        # --threads 1: the repo's gunicorn.conf.py (read from the working directory) asks for
        # 4 threads, which turns sync workers into gthread ones; see bench/README.md.
        *("--workers", str(WORKERS), "--worker-class", "sync", "--threads", "1", "--graceful-timeout", "5"),
    ]


def _wait_until_serving(url: str, actors: Path, *, log: str, timeout: float = 60.0) -> None:
    token, merchant = actor_lines(actors)[0]
    body = json.dumps({"merchant_id": merchant, "amount": AMOUNT}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url + BARE_PATH, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 201:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer in {timeout:.0f}s: see bench/results/{log}.log")
        time.sleep(0.25)
