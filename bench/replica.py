"""The bench module's handler: keep a replica of each wallet (event-carried state).

Its table is the bench's own (created by the bench, not a migration), written with one
upsert, as a module's replica handler would.
"""

from django.db import connection

from bench.events import BenchSaved
from blipay.events.envelope import EventMeta

TABLE = "bench_wallet_replica"


def create_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (subject varchar(64) PRIMARY KEY, member_id varchar(64) NOT NULL,"
            " name varchar(128) NOT NULL, balance bigint NOT NULL, currency char(3) NOT NULL, sequence bigint NOT NULL)"
        )


def clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")


def count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")
        return cursor.fetchone()[0]


def wallet_save(event: BenchSaved, meta: EventMeta) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (subject, member_id, name, balance, currency, sequence)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (subject) DO UPDATE SET member_id = excluded.member_id,"
            " name = excluded.name, balance = excluded.balance, currency = excluded.currency,"
            " sequence = excluded.sequence",
            [meta.subject, event.member_id, event.name, event.balance, event.currency, meta.sequence],
        )
