"""Private RabbitMQ nodes for tests that stop a broker or build a cluster.

Each node runs beside the machine's own RabbitMQ with its own name, ports, data, logs,
config and plugins file, so stopping, killing or clustering it never disturbs the machine's
broker or another test run. The machine's config pins port 5672 and its plugins may hold
STOMP's 61613, hence a config file and an (empty) plugins file of the node's own.
``/usr/sbin/rabbitmq-server`` is started by that path: Debian's wrapper switches to the
``rabbitmq`` user (whose Erlang cookie ``rabbitmqctl`` shares) and recurses if called by its
own path.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import free_port

SERVER = "/usr/sbin/rabbitmq-server"
STARTUP_TIMEOUT = 90  # seconds; a loaded two-core machine boots a node in 3-15


@dataclass(frozen=True)
class Node:
    name: str
    amqp_port: int
    dist_port: int
    base: Path

    @property
    def node(self) -> str:
        return f"{self.name}@localhost"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}//"

    @property
    def _pid_file(self) -> Path:
        return self.base / "pid"

    def ctl(self, *args: str, timeout: float = STARTUP_TIMEOUT) -> str:
        done = subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"rabbitmqctl -n {self.node} {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> None:
        """Boot the Erlang node and the broker; returns once it accepts connections."""
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_PID_FILE": str(self._pid_file),
        }
        subprocess.run([SERVER, "-detached"], env=env, check=True, capture_output=True)
        self.ctl("wait", str(self._pid_file), "--timeout", str(STARTUP_TIMEOUT))

    def stop_app(self) -> None:
        """The broker goes down (connections drop, ports close); the Erlang node stays."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", str(STARTUP_TIMEOUT))

    def kill(self) -> None:
        """SIGKILL the node's Erlang VM: a crash, not a shutdown."""
        pid = int(self._pid_file.read_text().strip())
        os.kill(pid, signal.SIGKILL)
        self._pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        """Shut the node down and wait until its VM is gone."""
        if self._pid_file.exists():
            self.ctl("stop", str(self._pid_file))


def new_node(name: str) -> Node:
    """A node's files, ready to ``start()``; its ports are free now (the OS picked them)."""
    base = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    node = Node(name=name, amqp_port=free_port(), dist_port=free_port(), base=base)
    (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{node.amqp_port}\n")
    (base / "enabled_plugins").write_text("[].\n")
    shutil.chown(base, "rabbitmq", "rabbitmq")
    for child in base.iterdir():
        shutil.chown(child, "rabbitmq", "rabbitmq")
    return node


def _remove(nodes: list[Node]) -> None:
    for node in nodes:
        try:
            node.stop()
        except (RuntimeError, subprocess.TimeoutExpired):
            if node._pid_file.exists():
                node.kill()
        shutil.rmtree(node.base, ignore_errors=True)


@contextmanager
def rabbitmq_node(prefix: str = "blipay_test") -> Iterator[Node]:
    """One private broker, started; stopped and its files removed afterwards."""
    node = new_node(f"{prefix}_{os.getpid()}")
    try:
        node.start()
        yield node
    finally:
        _remove([node])


@contextmanager
def rabbitmq_cluster(size: int = 3, prefix: str = "blipay_cluster") -> Iterator[list[Node]]:
    """``size`` private nodes joined into one cluster; all stopped and removed afterwards."""
    nodes = [new_node(f"{prefix}_{os.getpid()}_{i}") for i in range(size)]
    try:
        for node in nodes:
            node.start()
        for node in nodes[1:]:
            node.stop_app()
            node.ctl("join_cluster", nodes[0].node)
            node.start_app()
        yield nodes
    finally:
        _remove(nodes)
