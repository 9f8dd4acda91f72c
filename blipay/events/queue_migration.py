"""Moving the modules' queues to another queue type (``manage.py events migrate-queues``).

RabbitMQ can't change an existing queue's type: declaring ``blipay.<module>`` as a quorum
queue while it exists as a classic one is refused (``PRECONDITION_FAILED``), and deleting it
would lose what waits in it. So each queue whose arguments differ from the configured ones
is moved through a temporary queue of the new type, ``<queue>.migrating``:

1. declare the temporary queue and move every message into it (each acked in the old queue
   only after the temporary one confirmed it);
2. bind the temporary queue like the old one, unbind the old one, move again what arrived
   meanwhile, delete the old queue (empty, and nothing routes to it any more);
3. declare the queue with its new type and bindings, unbind the temporary queue, move its
   messages back, delete it.

Nothing is lost at any point: a message is always in a queue that is bound, or in the
temporary queue, and a crash leaves at most one message in two places (the inbox absorbs
it). Run again after a crash, it picks up where it stopped. This deployment's relays are
held off the broker for the whole move (their turn, ``relay.take_turn``), so the stream
keeps its order. Another deployment's relay still publishing into these queues (the
monolith's, into an extracted service's queues) loses nothing either, but an event it
sends while both queues are bound arrives twice, and one sent during step 3 may arrive
before older ones: the inbox and the stale-version guard absorb both.

This deployment's Celery task queue is moved the same way: on a cluster it must survive a
node too (it carries the relay's kicks and beat's sweep). The module's consumers and the
Celery workers must be stopped (the command refuses while a queue has one): a
consumer would hold messages outside both queues, and its rejections need the dead-letter
queue in place.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from kombu import Connection, Exchange, Queue

from blipay.events.broker import connect, dead_letter_queue, ensure_connected, module_queue, queue_arguments
from blipay.events.relay import take_turn
from blipay.events.subscriptions import consuming_modules, routing_keys

PRECONDITION_FAILED, NOT_FOUND = 406, 404


class MigrationRefused(Exception):
    pass


@dataclass(frozen=True)
class QueueMigrated:
    name: str
    queue_type: str
    moved: int  # messages carried over; 0 with ``changed`` False: the queue was already right
    changed: bool


def migrate_queues(queue_type: str, *, progress: Callable[[str], None] = lambda line: None) -> list[QueueMigrated]:
    """Bring every module queue and dead-letter queue of this deployment to ``queue_type``,
    which must be the configured ``BLIPAY_QUEUE_TYPE`` (the consumers and relays declare the
    queues with it)."""
    configured = settings.BLIPAY_EVENTS["QUEUE_TYPE"]
    if queue_type != configured:
        raise MigrationRefused(
            f"BLIPAY_QUEUE_TYPE is {configured}: set BLIPAY_QUEUE_TYPE={queue_type} for this command and for every "
            f"relay and consumer, which declare the queues with it"
        )
    if not settings.BROKER_URL.startswith("amqp"):
        raise MigrationRefused("queue types are RabbitMQ's: set BROKER_URL=amqp://…")
    done: list[QueueMigrated] = []
    with transaction.atomic(), connect() as broker:
        take_turn()  # held until the end: no relay of this deployment publishes meanwhile
        ensure_connected(broker)
        for module in consuming_modules():
            queue = module_queue(module, routing_keys(module))
            for target in (queue, dead_letter_queue(module)):
                done.append(_migrate(broker, target, consumed=queue.name, queue_type=queue_type))
                progress(_describe(done[-1]))
        tasks = celery_task_queue(queue_type)
        done.append(_migrate(broker, tasks, consumed=tasks.name, queue_type=queue_type))
        progress(_describe(done[-1]))
    return done


def celery_task_queue(queue_type: str) -> Queue:
    """This deployment's Celery task queue as Celery declares it (``CELERY_TASK_QUEUES``)."""
    name = settings.CELERY_TASK_DEFAULT_QUEUE
    return Queue(
        name, Exchange(name, type="direct"), routing_key=name, durable=True, queue_arguments=queue_arguments(queue_type)
    )


def _describe(result: QueueMigrated) -> str:
    if not result.changed:
        return f"{result.name}: already {result.queue_type}"
    return f"{result.name}: now {result.queue_type}, {result.moved} message(s) moved"


def _migrate(broker: Connection, queue: Queue, *, consumed: str, queue_type: str) -> QueueMigrated:
    temporary = Queue(f"{queue.name}.migrating", durable=True, auto_delete=False, queue_arguments=queue.queue_arguments)
    moved, changed = 0, False
    if not _declare(broker, queue):
        readers = _channel_call(broker, lambda ch: ch.queue_declare(queue=consumed, passive=True)).consumer_count
        if readers:
            raise MigrationRefused(f"{consumed} has {readers} consumer(s): stop the module's consumers first")
        changed = True
        temporary(broker.channel()).declare()
        moved += _move(broker, queue.name, temporary.name)
        for exchange, key in _bindings(queue):
            temporary(broker.channel()).bind_to(exchange, routing_key=key)
            _channel_call(broker, lambda ch, e=exchange, k=key: ch.queue_unbind(queue.name, e.name, k))
        moved += _move(broker, queue.name, temporary.name)  # what arrived before the unbinding
        _delete_empty(broker, queue.name)
        queue(broker.channel()).declare()
    if _exists(broker, temporary.name):
        changed = True
        for exchange, key in _bindings(queue):
            temporary(broker.channel()).unbind_from(exchange, routing_key=key)
        moved_back = _move(broker, temporary.name, queue.name)
        moved = moved or moved_back  # a resumed run only finds them in the temporary queue
        _delete_empty(broker, temporary.name)
    return QueueMigrated(name=queue.name, queue_type=queue_type, moved=moved, changed=changed)


def _bindings(queue: Queue) -> list[tuple[Exchange, str]]:
    """Where the queue is bound: its bindings, or its one exchange (the default exchange,
    which routes by queue name, needs no binding)."""
    if queue.bindings:
        return [(b.exchange, b.routing_key) for b in queue.bindings]
    return [(queue.exchange, queue.routing_key)] if queue.exchange and queue.exchange.name else []


def _delete_empty(broker: Connection, name: str) -> None:
    """Delete a queue nothing routes to any more, once it is empty (quorum queues refuse
    ``if-empty``, so the count is checked first; nothing can arrive after it)."""
    left = _channel_call(broker, lambda ch: ch.queue_declare(queue=name, passive=True)).message_count
    if left:
        raise MigrationRefused(f"{name} still holds {left} message(s) after the move; nothing was deleted")
    _channel_call(broker, lambda ch: ch.queue_delete(name))


def _channel_call(broker: Connection, call: Callable[[Any], Any]) -> Any:
    """Run ``call`` on a fresh channel: a refused command closes the channel it ran on."""
    channel = broker.channel()
    result = call(channel)
    channel.close()
    return result


def _declare(broker: Connection, queue: Queue) -> bool:
    """Declare ``queue`` (with its bindings); False if it exists with other arguments."""
    try:
        _channel_call(broker, lambda ch: queue(ch).declare())
    except broker.channel_errors as exc:
        if getattr(exc, "reply_code", None) == PRECONDITION_FAILED:
            return False
        raise
    return True


def _exists(broker: Connection, name: str) -> bool:
    try:
        _channel_call(broker, lambda ch: ch.queue_declare(queue=name, passive=True))
    except broker.channel_errors as exc:
        if getattr(exc, "reply_code", None) == NOT_FOUND:
            return False
        raise
    return True


def _move(broker: Connection, source: str, target: str) -> int:
    """Move every message of ``source`` to the end of ``target``, in order: each is acked in
    ``source`` only once ``target`` has confirmed it (mandatory: unroutable raises, not drops)."""
    channel = broker.channel()
    channel.confirm_select()
    moved = 0
    while (message := channel.basic_get(source)) is not None:
        channel.basic_publish(message, exchange="", routing_key=target, mandatory=True)  # waits for the confirm
        channel.basic_ack(message.delivery_tag)
        moved += 1
    channel.close()
    return moved
