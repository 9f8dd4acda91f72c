import signal
import time

from django.core.management.base import BaseCommand, CommandParser

from blipay.events.broker import ConfirmingPublisher
from blipay.events.errors import BrokerUnavailable
from blipay.events.relay import relay_pending


class Command(BaseCommand):
    help = (
        "Send committed events from the outbox to the broker (exchange blipay.events). "
        "Normally Celery does this (a kick after each commit, a sweep by beat); run this "
        "to drain by hand (--once) or as a standalone relay process (the default: loop until "
        "Ctrl-C or SIGTERM). While the broker is down, events stay pending and are retried "
        "with backoff; nothing is marked sent that the broker did not confirm."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="drain what is pending now, then exit")
        parser.add_argument("--batch-size", type=int, default=None, help="rows per claim (default: setting)")
        parser.add_argument(
            "--idle-sleep", type=float, default=0.05, help="seconds to wait when nothing is pending (loop mode)"
        )

    def handle(self, *args, once: bool, batch_size: int | None, idle_sleep: float, **options) -> None:
        publisher = ConfirmingPublisher()
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        try:
            while True:
                try:
                    sent = relay_pending(publisher, batch_size=batch_size)
                except BrokerUnavailable as exc:
                    if once:
                        raise
                    self.stderr.write(f"broker unavailable, events stay pending: {exc}")
                    time.sleep(1.0)
                    continue
                if sent:
                    self.stdout.write(f"relayed {sent} event(s)")
                if once or stopping:
                    return
                if not sent:
                    time.sleep(idle_sleep)
        except KeyboardInterrupt:
            pass
        finally:
            publisher.close()
