"""The faults, one function each, injected into a running stack under traffic. Each
returns a line saying what it did, for the report; each asserts it really hit what it
names (a kill mid-batch is a kill while the batch's transaction is open)."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from datetime import UTC, datetime

from kombu import Connection, Exchange, Producer

from tests.faults.stack import Stack

OUTAGE_SECONDS = 10


def rabbitmq_outage(stack: Stack, seconds: float = OUTAGE_SECONDS) -> str:
    """The broker stops (connections drop, ports close) and comes back ``seconds`` later."""
    stack.node.stop_app()
    time.sleep(seconds)
    stack.node.start_app()
    return f"RabbitMQ stopped {seconds:g} s and started"


def _in_transaction(stack: Stack, role: str) -> list[int]:
    """Backend pids of ``role``'s connections with a transaction open right now."""
    rows = stack.sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s AND xact_start IS NOT NULL",
        (stack.database, stack.application_name(role)),
    )
    return [pid for (pid,) in rows]


def _kill_mid_batch(stack: Stack, role: str, timeout: float) -> str:
    """SIGKILL ``role``'s whole process group (the Celery worker with its pool, the
    consumers) at a moment one of its database transactions is open: mid-batch."""
    assert stack.runner is not None
    pid = stack.runner.pid(role)
    assert pid, f"no monolith-{role} to kill"
    deadline = time.monotonic() + timeout
    while not _in_transaction(stack, role):
        assert time.monotonic() < deadline, f"monolith-{role} never had a transaction open in {timeout}s"
    os.killpg(pid, signal.SIGKILL)
    stack.runner.wait_for(
        lambda: stack.runner.pid(role) not in (0, pid) and stack.runner.running(role), f"monolith-{role} back", 60
    )
    return f"monolith-{role} (pid {pid}) SIGKILLed with a transaction open, restarted by supervisord"


def kill_relay_mid_batch(stack: Stack, timeout: float = 20) -> str:
    return _kill_mid_batch(stack, "worker", timeout)


def kill_consumers_mid_batch(stack: Stack, timeout: float = 20) -> str:
    return _kill_mid_batch(stack, "consumers", timeout)


def terminate_connections(
    stack: Stack, roles: tuple[str, ...] = ("web", "worker", "consumers"), rounds: int = 4, every: float = 1.0
) -> str:
    """pg_terminate_backend on every connection of these processes, a few times over, so
    some die mid-request, mid-relay and mid-batch."""
    names = [stack.application_name(role) for role in roles]
    terminated = 0
    for round_ in range(rounds):
        if round_:
            time.sleep(every)
        rows = stack.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND application_name = ANY(%s)",
            (stack.database, names),
        )
        terminated += sum(1 for (done,) in rows if done)
    assert terminated, f"no connection of {', '.join(roles)} to terminate"
    return f"pg_terminate_backend on {terminated} connections of {', '.join(roles)} in {rounds} rounds"


POISONED_MODULE = "promotions"


def poison(stack: Stack, module: str = POISONED_MODULE) -> str:
    """An event one handler can't apply, put straight into ``module``'s queue: a readable
    payment.made envelope whose paid_at is no time, so decoding it for the handler fails.
    The module retries it, dead-letters it and keeps the failure; everything else flows.
    The audit must then list exactly it."""
    event_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    envelope = {
        "id": event_id,
        "type": "payment.made",
        "version": 1,
        "source": "faults",
        "subject": str(uuid.uuid4()),
        "sequence": 1,
        "time": now,
        "correlation_id": f"poison-{event_id}",
        "causation_id": None,
        "traceparent": "",
        "data": {
            "payment_id": str(uuid.uuid4()),
            "member_id": str(uuid.uuid4()),
            "merchant_id": str(uuid.uuid4()),
            "amount": 10_000,
            "paid_at": "poison",
        },
    }
    queue = f"blipay.{module}"
    with Connection(stack.node.url, connect_timeout=5) as broker:
        broker.ensure_connection(max_retries=60, interval_start=1, interval_step=0, interval_max=1)  # if it's down
        Producer(broker.channel(), exchange=Exchange("")).publish(
            json.dumps(envelope),
            routing_key=queue,
            content_type="application/json",
            content_encoding="utf-8",
            message_id=event_id,
            delivery_mode=2,
        )
    stack.expected_findings.add(("inbox.failed", f"{module}:{event_id}"))
    stack.poisoned[f"{queue}.dead"] = stack.poisoned.get(f"{queue}.dead", 0) + 1
    return f"poison payment.made {event_id} into {queue}"
