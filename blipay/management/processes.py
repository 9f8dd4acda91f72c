"""One deployment's processes on the real servers, and the supervisord configuration that
keeps them running.

A deployment is the monolith (``BLIPAY_SERVICE`` empty) or one extracted service. Its
processes are named after it (``monolith-web``, ``notifications-web``) and its supervisor
keeps its files in a run directory of its own (``$BLIPAY_VAR_DIR/run/<deployment>/``), so
two deployments can run side by side on one machine, each with its own ``PORT``,
``DATABASE_URL`` and ``BROKER_URL``. The ``Procfile`` and ``deploy/systemd/`` list the same
processes for other process managers.
"""

import secrets
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# supervisord restarts a child the moment it dies. One that dies within STARTSECS of its
# start counts as a failed start and is retried after 1 s, 2 s, 3 s… (its BACKOFF state);
# after STARTRETRIES failed starts in a row supervisord gives up on it (FATAL) and says so.
STARTSECS = 3
STARTRETRIES = 20
# gunicorn's graceful timeout and Celery's warm shutdown both fit in this; then SIGKILL.
STOPWAITSECS = 20
RPC_FACTORY = "supervisor.rpcinterface:make_main_rpcinterface"  # what supervisorctl talks to


@dataclass(frozen=True)
class Process:
    role: str  # web, worker, beat, consumers: the names the Procfile uses
    command: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{settings.BLIPAY_DEPLOYMENT}-{self.role}"


def run_dir() -> Path:
    """Where this deployment's supervisor keeps its configuration, socket and Celery beat's
    schedule (generated at start, never in git)."""
    return settings.VAR_DIR / "run" / settings.BLIPAY_DEPLOYMENT


def processes(*, host: str, port: int) -> list[Process]:
    python = sys.executable
    deployment = settings.BLIPAY_DEPLOYMENT
    return [
        # Workers and threads: gunicorn.conf.py, shared with the Procfile and the systemd units.
        Process(
            "web",
            (python, "-m", "gunicorn", "-c", str(settings.BASE_DIR / "gunicorn.conf.py"), "--bind", f"{host}:{port}"),
        ),
        # The relay: a Celery task kicked after each commit that emitted an event.
        Process("worker", (python, "-m", "celery", "-A", "blipay", "worker", "-c", "2", "-n", f"{deployment}@%h")),
        # Exactly one beat per deployment (two would run each periodic task twice): it sweeps up
        # what a lost kick left behind and runs the periodic clean-ups.
        Process("beat", (python, "-m", "celery", "-A", "blipay", "beat", "-s", str(run_dir() / "celerybeat-schedule"))),
        Process("consumers", (python, "manage.py", "consume", "--all")),
    ]


def supervisord_config(children: list[Process]) -> str:
    """supervisord's configuration: the children, restarted when they die, their output and
    supervisord's own ("exited: … not expected", "spawned: …") on standard output."""
    run = run_dir()
    user, password = settings.BLIPAY_DEPLOYMENT, secrets.token_urlsafe(24)
    sections = [
        _section(
            "supervisord",
            nodaemon="true",
            # In the foreground supervisord also writes its log to standard output.
            logfile=run / "supervisord.log",
            logfile_maxbytes="5MB",
            logfile_backups="2",
            loglevel="info",
            pidfile=run / "supervisord.pid",
            childlogdir=run,
            directory=settings.BASE_DIR,
            identifier=settings.BLIPAY_DEPLOYMENT,
        ),
        # supervisorctl's way in: a socket only this user may open, and a password made afresh
        # at each start, in this file only (written readable by this user alone).
        _section("unix_http_server", file=run / "supervisor.sock", chmod="0700", username=user, password=password),
        _section("rpcinterface:supervisor", **{"supervisor.rpcinterface_factory": RPC_FACTORY}),
        _section("supervisorctl", serverurl=f"unix://{run / 'supervisor.sock'}", username=user, password=password),
    ]
    sections += [
        _section(
            f"program:{child.name}",
            command=shlex.join(child.command),
            directory=settings.BASE_DIR,
            autostart="true",
            autorestart="true",
            startsecs=STARTSECS,
            startretries=STARTRETRIES,
            stopsignal="TERM",
            stopwaitsecs=STOPWAITSECS,
            # SIGTERM to the main process alone: gunicorn's master and Celery's worker stop their
            # own children once their requests and tasks are done (TERM to the whole group killed
            # Celery's pool mid-task). Only the SIGKILL after STOPWAITSECS takes the whole group.
            stopasgroup="false",
            killasgroup="true",
            redirect_stderr="true",
            stdout_logfile="/dev/stdout",
            stdout_logfile_maxbytes="0",
            # Names its PostgreSQL connections (blipay-<deployment>-<role>), so an operator,
            # or a fault test, can tell the web workers' from the relay's and the consumers'.
            environment=f"BLIPAY_PROCESS_ROLE={child.role}",
        )
        for child in children
    ]
    return "\n".join(sections)


def _section(name: str, **values: object) -> str:
    # supervisord expands %(name)s in values: a literal % (Celery's %h) is written %%.
    lines = [f"[{name}]", *(f"{key}={str(value).replace('%', '%%')}" for key, value in values.items())]
    return "\n".join(lines) + "\n"
