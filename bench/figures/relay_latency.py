"""Figure 2: commit-to-broker latency at a steady 50 events/s for 30 s, ours vs the anchor.

Ours runs the production path: ``emit()`` in the producer's transaction, the on-commit
kick queued to a real Celery worker (prefork, two processes, as ``manage.py serve`` starts
it), which relays with ``relay_pending``. The anchor is django-outbox-pattern's
``publish`` loop, fed rows the way its own producer API writes them. A consumer bound to
the exchange stamps each arrival; latency = arrival - the producer's commit stamp.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager

from bench import events, queues, relays
from bench.context import Context
from bench.latency import Arrivals, Paced, Writer, produce, wait_for
from bench.report import Figure, percentile
from blipay.events.outbox import Outbound, emit

RATE = 50.0
WARMUP_SECONDS = 2.0
READY_TIMEOUT = 90.0


def run(context: Context) -> list[Figure]:
    seconds = context.duration(30.0, 5.0)
    queue = queues.tap_queue("bench.latency")
    with queues.declared(queue):
        arrivals = Arrivals(queue)
        arrivals.start_and_wait()
        try:
            ours = _measure(arrivals, relays.celery_worker, _emit, seconds)
            anchor = _measure(arrivals, relays.anchor_relay, _anchor_write, seconds)
        finally:
            arrivals.stop()
    figure = Figure(
        name="relay_latency_p99",
        unit="ms",
        ours=percentile(ours.latencies_ms, 99),
        anchor=percentile(anchor.latencies_ms, 99),
        higher_is_better=False,
        ours_label="Blipay: emit, on-commit kick, Celery worker relay",
        anchor_label="django-outbox-pattern publish",
        targets=["ours <= 50 ms"],
        details={
            "rate_per_s": RATE,
            "seconds": seconds,
            "ours": ours.summary(),
            "anchor": anchor.summary(),
        },
        series={"ours": ours.series(), "anchor": anchor.series()},
    )
    figure.met = figure.ours is not None and figure.ours <= 50
    return [figure]


class _Run:
    def __init__(self, paced: Paced, arrivals: Arrivals) -> None:
        self.offsets = paced.offsets
        self.latency_ms = {
            event_id: (arrivals.at[event_id] - committed) * 1000
            for event_id, committed in paced.committed.items()
            if event_id in arrivals.at
        }
        self.lost = len(paced.committed) - len(self.latency_ms)

    @property
    def latencies_ms(self) -> list[float]:
        return list(self.latency_ms.values())

    def summary(self) -> dict:
        values = self.latencies_ms
        return {
            "events": len(self.offsets),
            "not_arrived": self.lost,
            **{f"p{q}_ms": round(percentile(values, q), 2) for q in (50, 90, 99)},
            "max_ms": round(max(values), 2) if values else None,
        }

    def series(self) -> dict:
        ids = sorted(self.latency_ms, key=self.offsets.__getitem__)
        return {"t": [round(self.offsets[i], 3) for i in ids], "ms": [round(self.latency_ms[i], 3) for i in ids]}


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def take(self, count: int) -> int:
        first, self.n = self.n, self.n + count
        return first


_numbers = _Counter()


def _measure(arrivals: Arrivals, relay: Callable[[], AbstractContextManager], write: Writer, seconds: float) -> _Run:
    events.clear_outbox()
    with relay():
        # Until the relay has shown it runs, then a short steady warm-up; neither is measured.
        for _ in range(int(READY_TIMEOUT)):
            warmup = produce(write, rate=RATE, seconds=1.0, first=_numbers.take(int(RATE)))
            wait_for(arrivals, list(warmup.committed), timeout=1.0)
            if any(event_id in arrivals.at for event_id in warmup.committed):
                break
        else:
            raise RuntimeError(f"no event reached the broker in {READY_TIMEOUT:.0f}s: is the relay running?")
        produce(write, rate=RATE, seconds=WARMUP_SECONDS, first=_numbers.take(int(RATE * WARMUP_SECONDS)))
        paced = produce(write, rate=RATE, seconds=seconds, first=_numbers.take(int(RATE * seconds)))
        wait_for(arrivals, list(paced.committed), timeout=15.0)
    return _Run(paced, arrivals)


def _emit(n: int) -> str:
    return emit(Outbound(events.BenchSaved(**events.data_of(n)), subject=events.subject_of(n), sequence=n))[0].id


def _anchor_write(n: int) -> str:
    row = events.anchor_row(events.envelope(n))
    row.save(force_insert=True)
    return str(row.id)
