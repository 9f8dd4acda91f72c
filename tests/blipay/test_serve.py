"""`manage.py serve`: the processes of a deployment, and the supervisor that keeps them up."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings

from blipay.management.processes import Process, processes, run_dir, supervisord_config
from tests.helpers import purge_module_queues
from tests.serve_runner import ROLES, Runner


def test_a_deployments_processes_and_files_carry_its_name(settings):
    settings.BLIPAY_DEPLOYMENT = "notifications"

    children = processes(host="127.0.0.1", port=8100)

    assert [child.name for child in children] == [f"notifications-{role}" for role in ROLES]
    assert run_dir() == settings.VAR_DIR / "run" / "notifications"
    config = supervisord_config(children)
    assert "[program:notifications-web]" in config
    assert "--bind 127.0.0.1:8100" in config
    # Each child names its PostgreSQL connections blipay-<deployment>-<role>.
    assert "environment=BLIPAY_PROCESS_ROLE=consumers" in config
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


@pytest.mark.postgres
@pytest.mark.rabbitmq
@pytest.mark.django_db(transaction=True)
def test_runner_restarts_a_killed_worker_and_consumer_and_a_registration_still_gets_its_welcome():
    purge_module_queues()  # events earlier tests left behind are not this test's
    runner = Runner()
    try:
        runner.wait_ready()
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
