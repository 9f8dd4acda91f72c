"""Figure 3: our relay's events/s (figure 1) vs a bare py-amqp loop with no database.

The loop publishes the same persistent bodies, with the same properties and headers, into
the same exchange and durable queue, with batched publisher confirms (publish 500, wait
for every ack, repeat): the most a single Python process gets out of this broker.
"""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import amqp
from django.conf import settings
from kombu import Connection

from bench import events, queues
from bench.context import Context
from bench.report import Figure, median
from blipay.events.broker import OutgoingMessage

BATCH = 500


def run(context: Context) -> list[Figure]:
    rows = context.size(10_000, 2_000)
    repeats = context.size(3, 1)
    messages = [OutgoingMessage.from_envelope(events.envelope(n).to_dict()) for n in range(rows)]
    tap = queues.tap_queue()
    runs: list[list[tuple[float, int]]] = []
    with queues.declared(tap) as broker, _connection() as connection:
        for _ in range(repeats):
            runs.append(_publish_confirmed(connection, messages))
            queues.purge(broker, tap)
    rates = [rows / run[-1][0] for run in runs]
    ours = context.figures.get("relay_throughput")
    figure = Figure(
        name="relay_ceiling",
        unit="events/s",
        ours=ours.ours if ours else None,
        anchor=median(rates),
        ours_label="Blipay relay (figure 1)",
        anchor_label="bare py-amqp loop, batched confirms, no database",
        targets=["ratio >= 0.60"],
        details={"rows": rows, "batch": BATCH, "ceiling_runs": [round(r) for r in rates]},
        series={"ceiling": _series(runs, rates)},
    )
    figure.met = figure.ratio is not None and figure.ratio >= 0.60
    return [figure]


@contextmanager
def _connection() -> Iterator[amqp.Connection]:
    """A plain py-amqp connection to the broker kombu would use (same host, vhost, user)."""
    url = Connection(settings.BROKER_URL)
    connection = amqp.Connection(
        host=f"{url.hostname}:{url.port or 5672}",
        userid=url.userid,
        password=url.password,
        virtual_host=url.virtual_host,
    )
    connection.connect()
    try:
        yield connection
    finally:
        connection.close()


def _publish_confirmed(connection: amqp.Connection, messages: Sequence[OutgoingMessage]) -> list[tuple[float, int]]:
    """Publish in confirmed batches on a fresh channel; return (seconds, messages confirmed) per batch."""
    channel = connection.channel()
    channel.confirm_select()
    unconfirmed: set[int] = set()

    def settle(tag: int, multiple: bool) -> None:
        if multiple:
            unconfirmed.difference_update([t for t in unconfirmed if t <= tag])
        else:
            unconfirmed.discard(tag)

    channel.events["basic_ack"].add(settle)
    channel.events["basic_nack"].add(settle)
    exchange = settings.BLIPAY_EVENTS["EXCHANGE"]
    tag = 0
    done: list[tuple[float, int]] = []
    start = time.perf_counter()
    for first in range(0, len(messages), BATCH):
        batch = messages[first : first + BATCH]
        for message in batch:
            tag += 1
            unconfirmed.add(tag)
            channel.basic_publish(
                amqp.Message(
                    message.body,
                    message_id=message.id,
                    correlation_id=message.correlation_id,
                    type=message.routing_key,
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    application_headers=message.headers,
                ),
                exchange=exchange,
                routing_key=message.routing_key,
            )
        while unconfirmed:
            connection.drain_events(timeout=10)
        done.append((time.perf_counter() - start, tag))
    channel.close()
    return done


def _series(runs: list[list[tuple[float, int]]], rates: list[float]) -> dict:
    chosen = runs[sorted(range(len(runs)), key=lambda i: rates[i])[len(runs) // 2]]
    return {"t": [round(t, 4) for t, _ in chosen], "arrived": [n for _, n in chosen]}
