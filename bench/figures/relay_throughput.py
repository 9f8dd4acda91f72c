"""Figure 1: events/s to drain 10,000 pending outbox rows to the broker, ours vs the anchor.

Both relays run as their own process (``manage.py relay`` / ``manage.py publish``) on the
same database, broker and envelopes. The rows are inserted hidden (status failed, which
neither relay touches) while the relay idles, then released by one UPDATE. The clock runs
from the first message at the broker to the moment no row is pending, so neither relay's
idle poll interval counts. The messages land in a durable queue bound to the exchange, as
in production (an unroutable message would be confirmed without being stored).
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from bench import events, progress, queues, relays
from bench.context import Context
from bench.report import Figure, median

Row = Callable[..., Published]


def run(context: Context) -> list[Figure]:
    rows = context.size(10_000, 2_000)
    repeats = context.size(3, 1)
    tap = queues.tap_queue()
    with queues.declared(tap) as broker:
        ours = list(_drains(broker, tap, relays.our_relay, events.our_row, rows, repeats))
        anchor = list(_drains(broker, tap, relays.anchor_relay, events.anchor_row, rows, repeats))
    figure = Figure(
        name="relay_throughput",
        unit="events/s",
        ours=median([d.rate for d in ours]),
        anchor=median([d.rate for d in anchor]),
        ours_label="Blipay relay (manage.py relay)",
        anchor_label="django-outbox-pattern publish",
        targets=["ratio >= 6"],
        details={
            "rows": rows,
            "repeats": repeats,
            "ours_runs": [round(d.rate) for d in ours],
            "anchor_runs": [round(d.rate) for d in anchor],
            "ours_first_message_after_s": [round(d.first_after, 3) for d in ours],
            "anchor_first_message_after_s": [round(d.first_after, 3) for d in anchor],
        },
        series={"ours": _series(ours), "anchor": _series(anchor)},
    )
    figure.met = figure.ratio is not None and figure.ratio >= 6
    return [figure]


def _drains(
    broker: object,
    tap: object,
    relay: Callable[[], AbstractContextManager],
    make_row: Row,
    rows: int,
    repeats: int,
) -> Iterator[progress.Drain]:
    with relay():
        for _ in range(repeats):
            events.clear_outbox()
            events.insert(make_row(events.envelope(n), status=StatusChoice.FAILED) for n in range(rows))
            events.vacuum_outbox()
            queues.purge(broker, tap)
            released = events.release()
            yield progress.watch_drain(broker, tap, rows, released=released)
    queues.purge(broker, tap)


def _series(drains: list[progress.Drain]) -> dict:
    """The median run's messages at the broker over time (since its first message)."""
    chosen = sorted(drains, key=lambda d: d.rate)[len(drains) // 2]
    start = chosen.first_after
    return {
        "t": [round(t - start, 4) for t, _ in chosen.arrived],
        "arrived": [n for _, n in chosen.arrived],
        "pending_t": [round(t - start, 4) for t, _ in chosen.pending],
        "pending": [n for _, n in chosen.pending],
    }
