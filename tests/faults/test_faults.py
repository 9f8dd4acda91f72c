"""The fault suite: under steady mixed traffic (registrations, bank-confirmed top-ups,
payments, refunds, a running cashback promotion), one fault at a time and then all of them
together. After each: heal, settle, and nothing may be lost or doubled: the audit is clean
(but for the poison deliberately dead-lettered, which it must list), every client sees what
its own successful requests add up to, every event was applied by every module handling it.

Runs on PostgreSQL + a private RabbitMQ node, once, by ``make test-faults``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from tests.faults import injectors
from tests.faults.checks import audit, client_view, event_figures, settle
from tests.faults.stack import Stack
from tests.faults.traffic import Client, Traffic, fault_seed

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.rabbitmq]

RATE = float(os.environ.get("BLIPAY_FAULT_RATE", "6"))  # operations started per second
WINDOW = 25.0  # seconds of traffic around one fault


def under_traffic(
    stack: Stack,
    client: Client,
    request: pytest.FixtureRequest,
    faults: list[tuple[float, Callable[[Stack], str]]],
    seconds: float = WINDOW,
) -> None:
    """Traffic for ``seconds`` with each fault at its offset; then heal, settle, check."""
    seed = f"{fault_seed()}:{request.node.name}"
    print(f"\n{request.node.name}: seed {fault_seed()} (traffic {seed!r}), {RATE:g} operations/s for {seconds:g} s")
    done: list[str] = []
    began = time.monotonic()
    since = stack.sql("SELECT now()::text")[0][0]
    traffic = Traffic(client, seed=seed, rate=RATE)
    try:
        traffic.run(seconds, during=[(at, lambda fault=fault: done.append(fault(stack))) for at, fault in faults])
    finally:
        traffic.close()
    for line in done:
        print(f"  fault: {line}")
    assert len(done) == len(faults), "a fault did not complete"
    # Heal: every process back (supervisord restarts what was killed), then let it settle.
    assert stack.runner is not None
    stack.runner.wait_ready()
    settled = settle(stack)
    result = audit(stack)
    view = client_view(client.api, client.world)
    figures = event_figures(stack, since=since)
    print(
        f"  {traffic.started} operations, {client.world.requests} definite answers so far "
        f"(resent: {dict(client.api.retries) or 'none'}; refused: {dict(client.world.refused) or 'none'}); "
        f"settled in {settled:.1f} s; audit: {len(result['checks'])} checks, findings "
        f"{[(f['check'], f['subject']) for f in result['findings']] or 'none'}"
    )
    print(f"  events: {figures}; {view.members} members and {view.payments} payments checked")
    print(f"  took {time.monotonic() - began:.0f} s")
    assert view.clean, f"lost: {view.lost}; doubled: {view.doubled}"
    assert figures.produced == figures.relayed, figures
    assert figures.lost == 0, figures


def test_rabbitmq_stopped_10s_and_started_loses_and_doubles_nothing(stack, client, request):
    under_traffic(stack, client, request, [(5, injectors.rabbitmq_outage)])


def test_relay_sigkilled_mid_batch_loses_and_doubles_nothing(stack, client, request):
    under_traffic(stack, client, request, [(5, injectors.kill_relay_mid_batch)])


def test_consumers_sigkilled_mid_batch_lose_and_double_nothing(stack, client, request):
    under_traffic(stack, client, request, [(5, injectors.kill_consumers_mid_batch)])


def test_database_connections_terminated_under_web_relay_and_consumers_lose_and_double_nothing(stack, client, request):
    under_traffic(stack, client, request, [(5, injectors.terminate_connections)])


def test_a_poison_event_is_dead_lettered_by_its_module_while_every_other_event_flows(stack, client, request):
    under_traffic(stack, client, request, [(5, injectors.poison)])


def test_all_faults_together_lose_and_double_nothing(stack, client, request):
    under_traffic(
        stack,
        client,
        request,
        [
            (2, injectors.rabbitmq_outage),  # down from 2 s to 12 s
            (4, injectors.terminate_connections),  # while the broker is down
            (6, injectors.kill_consumers_mid_batch),  # once they have a batch again
            (8, injectors.kill_relay_mid_batch),
            (14, injectors.poison),
            (20, injectors.terminate_connections),
        ],
        seconds=40,
    )
