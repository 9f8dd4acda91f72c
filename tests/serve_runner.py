"""`manage.py serve` as a test drives it: a real supervisor and its children on a free
loopback port, with pids, statuses and HTTP at hand, stopped like Ctrl-C would."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from tests.helpers import free_port, postgres_test_db_url, wait_until

ROLES = ["web", "worker", "beat", "consumers"]


class Runner:
    """`manage.py serve` against a database and broker (the test database and vhost unless
    given), on a free loopback port; ``env`` adds or overrides environment variables."""

    def __init__(
        self, *, database_url: str | None = None, broker_url: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        # A short path: supervisord's unix socket path must fit in 108 bytes.
        self.var = Path(tempfile.mkdtemp(prefix="blipay-serve-"))
        self.port = free_port()
        self.log = self.var / "serve.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "blipay.settings",
            "DATABASE_URL": database_url or postgres_test_db_url(),
            "BROKER_URL": broker_url or settings.BROKER_URL,
            "BLIPAY_VAR_DIR": str(self.var),
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "2",
            **(env or {}),
        }
        self.env.pop("BLIPAY_SERVICE", None)
        self.env.pop("BLIPAY_PROCESS_ROLE", None)
        self.config = self.var / "run" / "monolith" / "supervisord.conf"
        with self.log.open("w") as out:
            # A session of its own, as a terminal would give it: the test's signals don't reach it.
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve"],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen_pids: set[int] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _ctl(self, *args: str) -> str:
        answer = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return answer.stdout

    def pid(self, role: str) -> int:
        out = self._ctl("pid", f"monolith-{role}").strip()
        pid = int(out) if out.isdigit() else 0
        if pid:
            self.seen_pids.add(pid)
        return pid

    def running(self, role: str) -> bool:
        return " RUNNING " in self._ctl("status", f"monolith-{role}")

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def static(self, path: str) -> bytes:
        with urllib.request.urlopen(f"{self.url}/static/{path}", timeout=10) as response:
            return response.read()

    def answers(self) -> bool:
        try:
            return self.request("GET", "/api/schema/?format=json")[0] == 200
        except (OSError, ValueError):
            return False

    def wait_ready(self, timeout: float = 90) -> None:
        """HTTP answers and every child is RUNNING."""
        self.wait_for(self.answers, "the runner answers HTTP", timeout=timeout)
        for role in ROLES:
            self.wait_for(lambda role=role: self.running(role), f"monolith-{role} running", timeout=30)

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
            survivors = [pid for pid in self.seen_pids if alive(pid)]
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


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
