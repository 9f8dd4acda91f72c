"""Commit-to-broker latency: a paced producer stamps each commit, a consumer stamps each arrival.

Both run in this process on ``perf_counter``: the producer in the calling thread, the
consumer (bound to the exchange through its own queue) in a thread.
"""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from kombu import Message, Queue

from blipay.events.broker import connect

Writer = Callable[[int], str]  # writes event n in the current transaction, returns its id


class Arrivals(threading.Thread):
    """Consumes ``queue`` and records when each event id arrived."""

    def __init__(self, queue: Queue) -> None:
        super().__init__(name="bench-arrivals", daemon=True)
        self.queue = queue
        self.at: dict[str, float] = {}
        self._stop_event = threading.Event()
        self._ready = threading.Event()

    def run(self) -> None:
        with connect() as broker, broker.Consumer([self.queue], on_message=self._arrived, no_ack=True):
            self._ready.set()
            while not self._stop_event.is_set():
                try:
                    broker.drain_events(timeout=0.2)
                except TimeoutError:
                    continue

    def _arrived(self, message: Message) -> None:
        self.at[json.loads(message.body)["id"]] = time.perf_counter()

    def start_and_wait(self) -> None:
        self.start()
        if not self._ready.wait(10):
            raise RuntimeError("the arrivals consumer did not start")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)


@dataclass
class Paced:
    committed: dict[str, float]  # event id → perf_counter right after its commit
    offsets: dict[str, float]  # event id → seconds since the measured run began


def produce(write: Writer, *, rate: float, seconds: float, first: int = 0) -> Paced:
    """Commit one event every 1/``rate`` s for ``seconds``, each in its own transaction.

    The commit stamp is an on-commit callback registered before the event is written, so it
    runs first after the commit: before the relay kick that ``emit()`` registers.
    """
    committed: dict[str, float] = {}
    offsets: dict[str, float] = {}
    count = int(rate * seconds)
    start = time.perf_counter()
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        stamp: list[float] = []
        with transaction.atomic():
            transaction.on_commit(lambda stamp=stamp: stamp.append(time.perf_counter()))
            event_id = write(first + i)
        committed[event_id] = stamp[0]
        offsets[event_id] = stamp[0] - start
    return Paced(committed=committed, offsets=offsets)


def wait_for(arrivals: Arrivals, ids: list[str], *, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and any(i not in arrivals.at for i in ids):
        time.sleep(0.05)
