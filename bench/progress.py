"""Watching a drain from the outside: messages arriving at a queue, rows still pending."""

import time
from dataclasses import dataclass, field

from kombu import Connection, Queue

from bench import events, queues
from blipay.events.relay import any_pending


class Stalled(RuntimeError):
    """A drain made no progress in time: the relay under test is stuck or not running."""


@dataclass
class Drain:
    """One drain of ``rows`` outbox rows, timed from the first message at the broker to the
    last row marked sent. ``arrived`` and ``pending`` are (seconds since release, count)."""

    rows: int
    seconds: float
    first_after: float
    arrived: list[tuple[float, int]] = field(default_factory=list)
    pending: list[tuple[float, int]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def watch_drain(
    broker: Connection, tap: Queue, rows: int, *, released: float, timeout: float = 120.0, count: bool = True
) -> Drain:
    """Poll ``tap``'s depth and the pending count until no row is pending.

    Before the first message arrives the broker is polled every 2 ms; after it, the queue
    and the database every 10 ms (for the throughput-over-time plot). Without ``count`` the
    database is only asked whether any row is pending: counting a million pending rows
    a hundred times a second would take the cores from the relay being measured.
    """
    first: float | None = None
    arrived: list[tuple[float, int]] = []
    pending: list[tuple[float, int]] = []
    deadline = released + timeout
    while True:
        now = time.perf_counter()
        if now > deadline:
            raise Stalled(f"{rows} rows not drained in {timeout:.0f}s")
        depth = queues.depth(broker, tap)
        if first is None:
            if depth == 0:
                time.sleep(0.002)
                continue
            first = now
        left = events.pending() if count else int(any_pending())
        stamp = time.perf_counter()
        arrived.append((now - released, depth))
        pending.append((stamp - released, left))
        if left == 0:
            return Drain(
                rows=rows, seconds=stamp - first, first_after=first - released, arrived=arrived, pending=pending
            )
        time.sleep(0.01)
