import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from blipay.db_router import monolith_tables


class Command(BaseCommand):
    help = (
        "Before an extracted service starts (make run-service): check its settings, create its "
        "database when missing, and refuse a database that holds the monolith's tables."
    )

    def handle(self, *args, **options) -> None:
        service = settings.BLIPAY_SERVICE
        if not service:
            raise CommandError("BLIPAY_SERVICE is not set: make run-service SERVICE=notifications")
        if connection.vendor != "postgresql":
            raise CommandError(
                f"the {service} service needs a PostgreSQL database of its own: set "
                f"DATABASE_URL=postgres://postgres@127.0.0.1:5432/blipay_{service}"
            )
        if not settings.BROKER_URL.startswith("amqp://"):
            raise CommandError(
                f"the {service} service is fed by the monolith's broker, which the in-process one can't be: "
                "set BROKER_URL=amqp://guest:guest@127.0.0.1:5672// for both the monolith and the service"
            )
        call_command("createdb", stdout=self.stdout)
        db = settings.DATABASES["default"]
        with psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None, dbname=db["NAME"]
        ) as conn:
            present = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        found = monolith_tables(present)
        if found:
            raise CommandError(
                f"database {db['NAME']!r} holds the monolith's tables ({', '.join(found[:5])}…): a service never "
                f"reads them; give it a database of its own, e.g. DATABASE_URL=postgres://…/blipay_{service}"
            )
        self.stdout.write(f"{service}: database {db['NAME']!r} is the service's own")
