"""Growth: does a cost grow with the tables? Each line compares the same work on a small
and on a large table, so a flat cost shows as a ratio near 1.

- ``growth_relay_drain``: events/s to drain 10,000, 100,000 and 1,000,000 pending outbox
  rows (figure 1's method: hidden rows released by one UPDATE, the clock from the first
  message at the broker to the last row marked sent); ours is the largest, the anchor the
  smallest. The tap keeps only the newest 10,000 messages (``x-max-length``): it only has
  to tell when the first one arrived, and a million stored messages would weigh on the broker.
- ``growth_replay``: events/s of ``manage.py events replay overview`` (its own process,
  start-up included, progress bar in ``bench/results/growth-replay-*.log``) over 10,000
  and 1,000,000 stored events (``bench/history.py``).
- ``growth_events_status``: seconds of ``events status`` (database side: pending, oldest
  pending, failed, sent and failed inbox counts) over those same two histories.
"""

import subprocess
import sys
import time

from django_outbox_pattern.choices import StatusChoice

from bench import env, events, history, progress, queues, relays
from bench.context import Context
from bench.report import Figure, median
from blipay.events.monitoring import outbox_status

FLAT = 0.8  # the largest table's rate as a share of the smallest's, below which a cost grows
TAP_KEEPS = 10_000
TEMPLATE = 10_000  # rows built in Python; larger tables are copies of them made in SQL


def run(context: Context) -> list[Figure]:
    pending_sizes = [context.size(n, n // 20) for n in (10_000, 100_000, 1_000_000)]
    history_sizes = [context.size(n, q) for n, q in ((10_000, 10_000), (1_000_000, 50_000))]
    drains = _relay_drains(pending_sizes)
    replays, statuses = _history(history_sizes)
    return [
        _flat("growth_relay_drain", "events/s", drains, "pending rows", ours_label="manage.py relay"),
        _flat("growth_replay", "events/s", replays, "stored events", ours_label="events replay overview"),
        _status_figure(statuses),
    ]


def _relay_drains(sizes: list[int]) -> dict[int, float]:
    tap = queues.tap_queue("bench.growth.tap")
    tap.queue_arguments = {"x-max-length": TAP_KEEPS}
    rates = {}
    with queues.declared(tap) as broker, relays.our_relay():
        for size in sizes:
            events.clear_outbox()
            template = min(size, TEMPLATE)
            events.insert(events.our_row(events.envelope(n), status=StatusChoice.FAILED) for n in range(template))
            events.copy_rows(size // template - 1)
            events.vacuum_outbox()
            queues.purge(broker, tap)
            released = events.release()
            drain = progress.watch_drain(broker, tap, size, released=released, timeout=60 + size / 500, count=False)
            rates[size] = drain.rate
            print(f"    {size:>9,} pending: {drain.rate:,.0f} events/s", flush=True)
    events.clear_outbox()
    return rates


def _history(sizes: list[int]) -> tuple[dict[int, float], dict[int, float]]:
    replays, statuses = {}, {}
    for size in sizes:
        history.grow_to(size)
        statuses[size] = median([_timed(lambda: outbox_status(with_queues=False)) for _ in range(5)])
        replays[size] = size / _replay_seconds(size)
        print(
            f"    {size:>9,} stored: replay {replays[size]:,.0f} events/s, status {statuses[size] * 1000:.0f} ms",
            flush=True,
        )
    events.clear_outbox()
    return replays, statuses


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _replay_seconds(size: int) -> float:
    argv = [sys.executable, "manage.py", "events", "replay", "overview"]
    started = time.perf_counter()
    with (env.RESULTS / f"growth-replay-{size}.log").open("w") as log:
        done = subprocess.run(argv, cwd=env.ROOT, env=env.child_env(), stdout=log, stderr=log, check=False)
    if done.returncode:
        raise RuntimeError(f"events replay overview failed: see bench/results/growth-replay-{size}.log")
    return time.perf_counter() - started


def _flat(name: str, unit: str, rates: dict[int, float], sizes_are: str, *, ours_label: str) -> Figure:
    small, large = min(rates), max(rates)
    figure = Figure(
        name=name,
        unit=unit,
        ours=rates[large],
        anchor=rates[small],
        ours_label=f"{ours_label}, {large:,} {sizes_are}",
        anchor_label=f"{ours_label}, {small:,} {sizes_are}",
        targets=[f"ratio >= {FLAT} (flat as the table grows)"],
        details={"by_size": {str(size): round(rate) for size, rate in rates.items()}},
        series={"sizes": list(rates), "rates": list(rates.values())},
    )
    figure.met = figure.ratio is not None and figure.ratio >= FLAT
    return figure


def _status_figure(seconds: dict[int, float]) -> Figure:
    small, large = min(seconds), max(seconds)
    figure = Figure(
        name="growth_events_status",
        unit="s",
        ours=seconds[large],
        anchor=seconds[small],
        higher_is_better=False,
        ours_label=f"events status, {large:,} stored events",
        anchor_label=f"events status, {small:,} stored events",
        targets=["ours <= 1 s"],
        details={"by_size_ms": {str(size): round(s * 1000, 1) for size, s in seconds.items()}},
        series={"sizes": list(seconds), "seconds": list(seconds.values())},
    )
    figure.met = figure.ours is not None and figure.ours <= 1.0
    return figure
