import signal
import threading

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from blipay.events.consumers import ModuleConsumer
from blipay.events.subscriptions import consuming_modules, routing_keys


class Command(BaseCommand):
    help = (
        "Run the consumer of one module (or --all): it reads the module's durable queue "
        "blipay.<module> and applies each event with the module's handlers, exactly once in "
        "effect. Failing handlers are retried, then the message goes to blipay.<module>.dead "
        "and shows in the admin's failed deliveries. Runs until Ctrl-C or SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("module", nargs="?", help="the consuming module, e.g. notifications")
        parser.add_argument("--all", action="store_true", help="run every consuming module, one thread each")

    def handle(self, *args, module: str | None, all: bool, **options) -> None:
        known = consuming_modules()
        modules = known if all else [module]
        if not all and module not in known:
            raise CommandError(f"unknown module {module!r}; modules with handlers: {', '.join(known) or 'none'}")
        consumers = [ModuleConsumer(name) for name in modules]
        for consumer in consumers:
            self.stdout.write(f"{consumer.module}: {consumer.queue.name} ← {', '.join(routing_keys(consumer.module))}")

        def stop(signum: int, frame: object) -> None:
            for consumer in consumers:
                consumer.should_stop = True

        signal.signal(signal.SIGTERM, stop)
        threads = [threading.Thread(target=_run, args=(c,), name=f"consume-{c.module}") for c in consumers]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.5)
        except KeyboardInterrupt:
            stop(signal.SIGINT, None)
            for thread in threads:
                thread.join()


def _run(consumer: ModuleConsumer) -> None:
    try:
        consumer.run()
    finally:
        connection.close()
