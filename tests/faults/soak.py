"""`make soak DURATION=600`: the fault suite's system under fixed-rate traffic for
DURATION seconds, with a fault every minute (in turn: RabbitMQ stopped 10 s, the relay
SIGKILLed mid-batch, the consumers SIGKILLed mid-batch, database connections terminated, a
poison event). Then heal, settle and report:

- events produced, relayed, seen on the broker (and copies sent twice), deliveries applied,
  lost, and effects doubled (as the clients see them);
- p99 commit-to-broker (event time → a tap queue on the broker has it) and
  commit-to-read-model (event time → the overview module applied it);
- each supervised process's memory (its whole process tree) at start and end;
- the audit.

Exits 1 if anything was lost or doubled, the audit found more than the poison, or a
process's memory grew by more than 10 %.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blipay.settings")
django.setup()

from kombu import Connection, Queue  # noqa: E402 - after django.setup(): the tests' modules read settings

from blipay.events.broker import EXCHANGE  # noqa: E402
from tests.faults import injectors  # noqa: E402
from tests.faults.checks import (  # noqa: E402
    audit,
    client_view,
    event_figures,
    queue_messages,
    read_model_lags,
    settle,
)
from tests.faults.stack import Stack, fault_stack  # noqa: E402
from tests.faults.traffic import Api, Client, Traffic, World, fault_seed  # noqa: E402
from tests.serve_runner import ROLES  # noqa: E402

FAULTS = [
    injectors.rabbitmq_outage,
    injectors.kill_relay_mid_batch,
    injectors.kill_consumers_mid_batch,
    injectors.terminate_connections,
    injectors.poison,
]
MEMORY_GROWTH_LIMIT = 0.10
WARM_UP = 20.0  # seconds of traffic before memory is first measured: imports and caches filled


class BrokerTap:
    """A queue bound to every event on the exchange, read by a thread that reconnects when
    the broker goes away: when each event first reached the broker, and copies sent again."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.queue = Queue("faults.soak.tap", exchange=EXCHANGE, routing_key="#", durable=True)
        self.first_seen: dict[str, float] = {}  # event id → seconds from its time to the tap
        self.copies = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tap", daemon=True)

    def start(self) -> None:
        with Connection(self.url, connect_timeout=5) as broker:
            self.queue(broker.channel()).declare()
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def drain(self, quiet: float = 2.0) -> None:
        """Return once no new event has reached the tap for ``quiet`` seconds."""
        count = -1
        while count != len(self.first_seen) + self.copies:
            count = len(self.first_seen) + self.copies
            time.sleep(quiet)

    def _on_message(self, message) -> None:
        body = json.loads(message.body)
        if body["id"] in self.first_seen:
            self.copies += 1
        else:
            emitted = _epoch(body["time"])
            self.first_seen[body["id"]] = time.time() - emitted
        message.ack()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                with (
                    Connection(self.url, connect_timeout=3) as broker,
                    broker.Consumer(self.queue, on_message=self._on_message, prefetch_count=500),
                ):
                    while not self.stopping.is_set():
                        try:
                            broker.drain_events(timeout=1)
                        except TimeoutError:
                            continue
            except Exception:  # noqa: BLE001 - whatever the broker's going away raised: reconnect
                time.sleep(0.5)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _percentiles_ms(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    cuts = statistics.quantiles(values, n=100)
    return f"p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms"


def tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and every descendant (gunicorn's and Celery's workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo += children.get(current, [])
    return total


def memory(stack: Stack) -> dict[str, tuple[int, int]]:
    """role → (pid, KiB resident for its process tree)."""
    assert stack.runner is not None
    pids = {role: stack.runner.pid(role) for role in ROLES}
    return {role: (pid, tree_rss_kib(pid)) for role, pid in pids.items()}


def soak(duration: float, rate: float) -> int:
    seed = fault_seed()
    print(f"soak: {duration:g} s at {rate:g} operations/s, a fault every 60 s, seed {seed}", flush=True)
    failures: list[str] = []
    with fault_stack("soak") as stack:
        tap = BrokerTap(stack.node.url)
        tap.start()
        since = stack.sql("SELECT now()::text")[0][0]  # the figures count every event the tap could see
        client = Client(Api(stack.url), World(), stack.staff_token)
        Traffic(client, seed=f"{seed}:world", rate=1).seed_world()
        traffic = Traffic(client, seed=f"{seed}:soak", rate=rate)
        started = time.monotonic()
        marks: dict[str, dict[str, tuple[int, int]]] = {}
        done: list[str] = []

        def fault(index: int):
            def inject(stack: Stack = stack) -> None:
                line = FAULTS[index % len(FAULTS)](stack)
                done.append(f"{time.monotonic() - started:6.1f} s  {line}")
                print(f"  fault: {done[-1]}", flush=True)

            return inject

        def measure_start() -> None:
            marks["start"] = memory(stack)

        schedule = [(WARM_UP, measure_start)]
        schedule += [(60.0 * minute - 15.0, fault(minute - 1)) for minute in range(1, int(duration // 60) + 1)]
        if duration < 60:
            schedule.append((duration / 2, fault(0)))
        try:
            traffic.run(duration, during=schedule)
        finally:
            traffic.close()
        assert stack.runner is not None
        stack.runner.wait_ready()
        settled = settle(stack)
        tap.drain()
        tap.stop()
        marks["end"] = memory(stack)
        try:
            result = audit(stack)
            verdict = (
                f"{len(result['checks'])} checks; findings: "
                f"{[(f['check'], f['subject']) for f in result['findings']] or 'none'} "
                "(exactly what the poison put there, checked)"
            )
        except AssertionError as exc:
            verdict = f"FAILED {exc}"
            failures.append("the audit")
        view = client_view(client.api, client.world)
        figures = event_figures(stack, since=since)

        print(f"\ntraffic: {traffic.started} operations, {client.world.requests} definite answers", flush=True)
        print(f"  resent until definite: {dict(client.api.retries) or 'none'}")
        print(f"  refused (definite 4xx): {dict(client.world.refused) or 'none'}")
        print(f"faults ({len(done)}):")
        for line in done:
            print(f"  {line}")
        print(f"settled {settled:.1f} s after the traffic stopped")
        print("events:")
        print(f"  produced (outbox)            {figures.produced}")
        print(f"  relayed (outbox sent)        {figures.relayed}")
        print(f"  on the broker (distinct)     {len(tap.first_seen)}  (+{tap.copies} copies sent again)")
        print(f"  deliveries to apply          {figures.deliveries}  (event x module handling it)")
        print(f"  consumed (applied once)      {figures.applied}")
        dead = sum(count for queue, count in queue_messages(stack).items() if queue.endswith(".dead"))
        print(f"  dead-lettered                {dead}  (the poison: {sum(stack.poisoned.values())} sent)")
        if figures.failed:
            failures.append(f"{figures.failed} events of the traffic failed in a module")
        print(f"  lost                         {figures.lost + len(view.lost)}")
        print(f"  doubled                      {len(view.doubled)}")
        print(f"  commit-to-broker             {_percentiles_ms(list(tap.first_seen.values()))}")
        print(f"  commit-to-read-model         {_percentiles_ms(read_model_lags(stack, since))}")
        print("memory (RSS of each process tree, KiB):")
        for role in ROLES:
            (pid0, start), (pid1, end) = marks["start"][role], marks["end"][role]
            growth = (end - start) / start if start else 0.0
            restarted = "" if pid0 == pid1 else f"  (restarted by a fault: pid {pid0} → {pid1})"
            print(f"  monolith-{role:<10} {start:>8} → {end:>8}  {growth:+.1%}{restarted}")
            if growth > MEMORY_GROWTH_LIMIT:
                failures.append(f"monolith-{role} grew {growth:.1%}")
        print(f"audit: {verdict}")
        if view.lost or view.doubled or figures.lost:
            failures.append(f"lost {view.lost} {figures.lost}; doubled {view.doubled}")
        if figures.produced != figures.relayed or len(tap.first_seen) < figures.produced:
            failures.append(f"not every event reached the broker: {asdict(figures)}, tap {len(tap.first_seen)}")
    if failures:
        print(f"\nFAILED: {'; '.join(failures)}\nreplay: BLIPAY_FAULT_SEED={seed} make soak DURATION={duration:g}")
        return 1
    print("\nsoak: clean")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    parser.add_argument("--rate", type=float, default=float(os.environ.get("BLIPAY_FAULT_RATE", "6")))
    options = parser.parse_args()
    sys.exit(soak(options.duration, options.rate))


if __name__ == "__main__":
    main()
