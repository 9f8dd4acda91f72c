from datetime import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published
from kombu.exceptions import OperationalError
from tqdm import tqdm

from blipay.admin import choreography_url
from blipay.events import inbox
from blipay.events.consumers import Outcome, deliver_many
from blipay.events.envelope import Envelope
from blipay.events.errors import BrokerUnavailable
from blipay.events.monitoring import TracedEvent, outbox_status, trace
from blipay.events.queue_migration import MigrationRefused, migrate_queues
from blipay.events.subscriptions import consuming_modules, routing_keys

REPLAY_BATCH = 500  # events applied per transaction


class Command(BaseCommand):
    help = (
        "Look after the event backbone. "
        "'events status': pending events, the age of the oldest, failed ones and queue depths. "
        "'events replay <module> [--since T]': feed stored events again to a module's replica "
        "and read-model handlers, in commit order, to rebuild them. "
        "'events trace <correlation_id>': the tree of events one request caused and which "
        "module handled each. "
        "'events migrate-queues --to quorum|classic': move the module queues and dead-letter "
        "queues and the Celery task queue to the configured BLIPAY_QUEUE_TYPE without losing a "
        "message (consumers and Celery workers stopped)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        status = sub.add_parser("status", help="pending, oldest pending age, failed, queue depths")
        status.add_argument("--no-broker", action="store_true", help="skip the queue depths (broker not needed)")
        replay = sub.add_parser("replay", help="rebuild a module's replicas and read models from stored events")
        replay.add_argument("module", help="the consuming module, e.g. notifications")
        replay.add_argument("--since", help="only events added at or after this ISO 8601 time")
        tracer = sub.add_parser("trace", help="the causal tree of the events of one correlation id")
        tracer.add_argument("correlation_id", help="an X-Request-ID, or the correlation_id of any event")
        migrate = sub.add_parser(
            "migrate-queues",
            help="move the module and dead-letter queues to another type, keeping their messages "
            "(stop the consumers and Celery workers first; relays wait meanwhile)",
        )
        migrate.add_argument(
            "--to", required=True, choices=settings.BLIPAY_QUEUE_TYPES, help="the queue type; must be BLIPAY_QUEUE_TYPE"
        )

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, f"_{action.replace('-', '_')}")(**options)

    def _migrate_queues(self, *, to: str, **options) -> None:
        try:
            migrated = migrate_queues(to, progress=self.stdout.write)
        except MigrationRefused as exc:
            raise CommandError(str(exc)) from exc
        except OperationalError as exc:
            raise CommandError(f"broker unreachable: {exc}") from exc
        changed = [m for m in migrated if m.changed]
        self.stdout.write(
            f"{len(changed)} of {len(migrated)} queue(s) moved to {to}, {sum(m.moved for m in changed)} message(s) kept"
        )

    def _status(self, *, no_broker: bool, **options) -> None:
        # The embedded broker's queues live inside the serving process: nothing to read from here.
        embedded = settings.BROKER_URL.startswith("memory://")
        try:
            status = outbox_status(with_queues=not (no_broker or embedded))
        except BrokerUnavailable as exc:
            raise CommandError(f"{exc} (use --no-broker to see the database side only)") from exc
        age = f"{status.oldest_pending_age.total_seconds():.1f}s" if status.oldest_pending_age else "-"
        self.stdout.write(
            f"outbox: {status.pending} pending (oldest {age}), {status.failed} failed, {status.sent} sent"
        )
        self.stdout.write(f"inbox:  {status.inbox_failed} failed deliveries")
        if embedded:
            self.stdout.write("queues: in-process broker, inside `manage.py serve` (queue depths need BROKER_URL)")
        for queue, depth in status.queue_depths.items():
            self.stdout.write(f"queue {queue}: {'not declared yet (no consumer started)' if depth is None else depth}")

    def _replay(self, *, module: str, since: str | None, **options) -> None:
        if module not in consuming_modules():
            raise CommandError(f"unknown module {module!r}; modules with handlers: {', '.join(consuming_modules())}")
        if settings.BLIPAY_SERVICE:
            # Replay reads the local outbox, which holds what this deployment emitted, not the
            # events its module consumes: those are in the monolith's.
            raise CommandError(
                f"an extracted service's history is in the monolith's outbox: run "
                f"`manage.py strangler backfill {module}` with the monolith's environment"
            )
        keys = routing_keys(module, replayable_only=True)
        rows = Published.objects.filter(destination__in=keys).exclude(status=StatusChoice.FAILED)
        if since:
            rows = rows.filter(added__gte=_parse_since(since))
        total = rows.count()
        inbox.forget_versions(module)
        outcomes = dict.fromkeys(Outcome, 0)
        bodies = rows.order_by("added").values_list("body", flat=True).iterator(REPLAY_BATCH)
        # The wrapped stream, not Django's OutputWrapper: that one would end each redraw with a newline.
        with tqdm(total=total, desc=f"replay {module}", unit="event", file=self.stderr._out, mininterval=0.5) as bar:
            batch: list[Envelope] = []
            for body in bodies:
                batch.append(Envelope.from_dict(body))
                if len(batch) == REPLAY_BATCH:
                    self._replay_batch(module, batch, outcomes, bar)
            if batch:
                self._replay_batch(module, batch, outcomes, bar)
        summary = ", ".join(f"{n} {outcome.value}" for outcome, n in outcomes.items())
        self.stdout.write(f"replayed {total} event(s) to {module}: {summary}")

    @staticmethod
    def _replay_batch(module: str, batch: list[Envelope], outcomes: dict[Outcome, int], bar: tqdm) -> None:
        """One transaction per batch: per event, the commits cost more than the handlers."""
        for outcome in deliver_many(module, batch, replay=True):
            outcomes[outcome] += 1
        bar.update(len(batch))
        batch.clear()

    def _trace(self, *, correlation_id: str, **options) -> None:
        roots = trace(correlation_id)
        if not roots:
            raise CommandError(f"no stored event has correlation id {correlation_id!r}")
        for root in roots:
            self._print_tree(root, depth=0)
        # The admin's address is the deployment's: the path, under whatever host serves it.
        self.stdout.write(f"picture: {choreography_url(correlation_id)}")

    def _print_tree(self, event: TracedEvent, *, depth: int) -> None:
        indent = "   " * depth + ("└─ " if depth else "")
        time = timezone.localtime(event.time)
        self.stdout.write(f"{indent}{event.type} {event.subject} [{event.status}] {time:%H:%M:%S.%f %Z} {event.id}")
        handlers = ", ".join(f"{module} ({status})" for module, status in event.handled_by) or "no module yet"
        self.stdout.write(f"{'   ' * (depth + 1)}handled by: {handlers}")
        for child in event.children:
            self._print_tree(child, depth=depth + 1)


def _parse_since(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--since {value!r} is not an ISO 8601 time, e.g. 2026-11-25T10:00:00+07:00")
    return parsed
