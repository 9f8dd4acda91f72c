"""`manage.py serve`: the processes of a deployment, and the supervisor that keeps them up."""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from blipay.management.processes import Process, processes, run_dir, supervisord_config
from tests.helpers import postgres_test_db_url, purge_module_queues, wait_until

ROLES = ["web", "worker", "beat", "consumers"]


def test_a_deployments_processes_and_files_carry_its_name(settings):
    settings.BLIPAY_DEPLOYMENT = "notifications"

    children = processes(host="127.0.0.1", port=8100)

    assert [child.name for child in children] == [f"notifications-{role}" for role in ROLES]
    assert run_dir() == settings.VAR_DIR / "run" / "notifications"
    config = supervisord_config(children)
    assert "[program:notifications-web]" in config
    assert "--bind 127.0.0.1:8100" in config
    assert f"file={settings.VAR_DIR}/run/notifications/supervisor.sock" in config
    # Celery's %h written so supervisord doesn't take it for one of its own expansions.
    assert "-n notifications@%%h" in config


def test_procfile_and_systemd_units_run_the_same_processes_with_restarts():
    procfile = (settings.BASE_DIR / "Procfile").read_text()
    assert re.findall(r"^(\w+):", procfile, re.MULTILINE) == ROLES
    units = settings.BASE_DIR / "deploy" / "systemd"
    for role in ROLES:
        unit = (units / f"blipay-{role}@.service").read_text()
        assert "Restart=always" in unit


def test_a_child_that_keeps_crashing_is_retried_ever_more_slowly_not_in_a_loop(settings):
    settings.VAR_DIR = Path(tempfile.mkdtemp(prefix="blipay-crash-"))
    settings.BLIPAY_DEPLOYMENT = "crashing"
    run_dir().mkdir(parents=True)
    config = run_dir() / "supervisord.conf"
    config.write_text(supervisord_config([Process("broken", ("sh", "-c", "exit 3"))]))
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        time.sleep(8)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        output = supervisor.communicate(timeout=30)[0]
        shutil.rmtree(settings.VAR_DIR, ignore_errors=True)

    # Retried after 1 s, 2 s, 3 s…: a handful of starts in 8 s, each failure said out loud.
    assert 2 <= output.count("spawned: 'crashing-broken'") <= 5, output
    assert "exited: crashing-broken (exit status 3; not expected)" in output


# --- the real runner ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Runner:
    """`manage.py serve` against the test database and vhost, on a free loopback port."""

    def __init__(self) -> None:
        # A short path: supervisord's unix socket path must fit in 108 bytes.
        self.var = Path(tempfile.mkdtemp(prefix="blipay-serve-"))
        self.port = _free_port()
        self.log = self.var / "serve.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "blipay.settings",
            "DATABASE_URL": postgres_test_db_url(),
            "BROKER_URL": settings.BROKER_URL,
            "BLIPAY_VAR_DIR": str(self.var),
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "2",
        }
        env.pop("BLIPAY_SERVICE", None)
        self.config = self.var / "run" / "monolith" / "supervisord.conf"
        with self.log.open("w") as out:
            # A session of its own, as a terminal would give it: the test's signals don't reach it.
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen_pids: set[int] = set()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pid(self, role: str) -> int:
        answer = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.config), "pid", f"monolith-{role}"],
            capture_output=True,
            text=True,
            check=False,
        )
        pid = int(answer.stdout.strip()) if answer.stdout.strip().isdigit() else 0
        if pid:
            self.seen_pids.add(pid)
        return pid

    def running(self, role: str) -> bool:
        answer = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.config), "status", f"monolith-{role}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return " RUNNING " in answer.stdout

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def static(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/static/{path}", timeout=10) as response:
            return response.read()

    def answers(self) -> bool:
        try:
            return self.request("GET", "/api/schema/?format=json")[0] == 200
        except (OSError, ValueError):
            return False

    def stop(self) -> list[int]:
        """Ctrl-C, and Ctrl-C again while it stops; then end whatever it started that is left
        (each child leads a process group of its own, gunicorn's and Celery's workers in it)."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
                time.sleep(0.5)
                self.process.send_signal(signal.SIGINT)
                self.process.wait(60)
        finally:
            survivors = [pid for pid in self.seen_pids if _alive(pid)]
            for pid in [self.process.pid, *survivors]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            self.process.wait(10)
            self.output_at_stop = self.output()
            shutil.rmtree(self.var, ignore_errors=True)
        return survivors

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float) -> None:
        try:
            wait_until(condition, timeout=timeout, message=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the runner's output ends:\n{self.output()[-4000:]}") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.postgres
@pytest.mark.rabbitmq
@pytest.mark.django_db(transaction=True)
def test_runner_restarts_a_killed_worker_and_consumer_and_a_registration_still_gets_its_welcome():
    purge_module_queues()  # events earlier tests left behind are not this test's
    runner = Runner()
    try:
        runner.wait_for(runner.answers, "the runner answers HTTP", timeout=90)
        for role in ROLES:
            runner.wait_for(lambda role=role: runner.running(role), f"monolith-{role} running", timeout=30)
        assert b"DJANGO Admin styles" in runner.static("admin/css/base.css"), "the admin's stylesheet, from gunicorn"
        before = {role: runner.pid(role) for role in ROLES}

        for role in ("worker", "consumers"):
            os.kill(before[role], signal.SIGKILL)
        killed_at = time.monotonic()
        for role in ("worker", "consumers"):
            runner.wait_for(
                lambda role=role: runner.pid(role) not in (0, before[role]) and runner.running(role),
                f"monolith-{role} back",
                timeout=20,
            )
        assert time.monotonic() - killed_at < 20
        output = runner.output()
        for role in ("worker", "consumers"):
            assert f"exited: monolith-{role} (terminated by SIGKILL; not expected)" in output
            assert f"spawned: 'monolith-{role}'" in output
        assert runner.pid("web") == before["web"], "a process nobody killed was restarted"

        status, member = runner.request(
            "POST", "/api/v1/members", {"name": "Ani Wijaya", "email": "ani@example.id", "phone": "+6281234567890"}
        )
        assert status == 201, member

        def welcomed() -> bool:
            status, page = runner.request("GET", f"/api/v1/members/{member['id']}/notifications", token=member["token"])
            assert status == 200, page
            return [n["kind"] for n in page["results"]] == ["welcome"]

        runner.wait_for(welcomed, "the welcome notification listed", timeout=60)
    finally:
        runner.pid("web")  # every child's pid known, so stop() can tell whether one outlived it
        survivors = runner.stop()
        purge_module_queues()

    stopping = runner.output_at_stop[runner.output_at_stop.index("received SIGINT") :]
    assert survivors == [], "a child outlived the runner"
    assert runner.process.returncode == 0, stopping
    assert "Traceback" not in stopping
