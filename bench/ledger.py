"""A large ledger, as a busy Blipay would hold it after weeks of traffic, for the growth
figure of the HTTP paths (``bench/figures/growth_http.py``).

Everything is made in SQL from ``generate_series`` in one transaction, keeping what the app
and its audit rely on:

- **other members**: ``members`` new members with history (``members_member``, a member
  account, the overview's row), each ledger transaction drawn to member
  ``floor(members * random()²)`` (seeded), so a few members have thousands of transactions
  and the median about fifteen. Each member's 1st, 11th, 21st… transaction is a top-up of 500,000
  from the bank and the others payments of 10,000 to 50,000 to one of the run's merchants, so
  a balance never goes below 0. Each transaction has its two entries (summing to zero), its
  payment row (a payment's), its overview line and its ``wallet.balance_changed`` in the
  outbox, sent (status succeeded), with the member's sequence; the account's balance and
  version are its ledger's sum and count. They span the last 25 days: inside the outbox's
  30-day retention, as sent rows are in production.
- **the actors** (the members the load pays and reads as): ``per_actor`` transactions each,
  a top-up of 450,000 and nine payments of 50,000, twice, dated 40 days ago (before their
  real top-up, past the outbox's retention, so without outbox rows): they net to zero, so
  each actor's balance still equals its ledger's sum, and its page has history behind its
  latest lines.
"""

import time
import uuid
from dataclasses import dataclass

from django.db import connection, transaction

from apps.members.models import Member
from apps.overview.models import MemberOverview, TransactionLine
from apps.payments.models import Payment
from apps.wallet.events import BalanceChanged
from apps.wallet.models import Account, Entry, LedgerTransaction
from blipay.events.registry import type_of

PER_ACTOR = 20
TOPUP = 500_000
ACTOR_TOPUP = 450_000  # then nine payments of a ninth of it: they net to zero
SEED = 0.42

_ACCOUNT = Account._meta.db_table
_LEDGER = LedgerTransaction._meta.db_table
_ENTRY = Entry._meta.db_table
_MEMBER = Member._meta.db_table
_PAYMENT = Payment._meta.db_table
_OVERVIEW = MemberOverview._meta.db_table
_LINE = TransactionLine._meta.db_table
_BALANCE_CHANGED = type_of(BalanceChanged).routing_key

TABLES = (_ACCOUNT, _LEDGER, _ENTRY, _MEMBER, _PAYMENT, _OVERVIEW, _LINE, "published")


@dataclass(frozen=True)
class Counts:
    """What the tables hold: the sizes a growth line compares."""

    ledger_transactions: int
    entries: int
    members: int
    payments: int
    transaction_lines: int
    sent_outbox_rows: int

    def as_dict(self) -> dict[str, int]:
        return vars(self).copy()


def counts() -> Counts:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {_LEDGER}), (SELECT count(*) FROM {_ENTRY}),"
            f" (SELECT count(*) FROM {_MEMBER}), (SELECT count(*) FROM {_PAYMENT}),"
            f" (SELECT count(*) FROM {_LINE}), (SELECT count(*) FROM published WHERE status = 2)"
        )
        return Counts(*cursor.fetchone())


def grow(*, transactions: int, members: int, actors: list[str], merchants: list[str]) -> float:
    """Add ``transactions`` ledger transactions of ``members`` other members, and
    ``PER_ACTOR`` of each actor's; return the seconds it took. Statistics are left as they
    were: call ``analyze()`` (production's autovacuum, eventually) or not."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [SEED])
        cursor.execute(_DRAW, {"count": transactions, "members": members})
        cursor.execute(
            _ACTOR_HISTORY,
            {"actors": [uuid.UUID(a) for a in actors], "per_actor": PER_ACTOR, "topup": ACTOR_TOPUP},
        )
        cursor.execute("ANALYZE growth_tx")  # a temporary table: autovacuum never sees it
        for statement in _MERCHANT_ACCOUNTS:
            cursor.execute(statement, {"merchants": merchants})
        for statement in _BUILD:
            cursor.execute(statement, {"merchants": len(merchants)})
        cursor.execute("DROP TABLE growth_tx, growth_merchant")
    return time.perf_counter() - started


def autovacuum(*, enabled: bool) -> None:
    """Keep autovacuum off the grown tables (so "stale statistics" stays stale for a run), or
    give it back."""
    with connection.cursor() as cursor:
        for table in TABLES:
            if enabled:
                cursor.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")
            else:
                cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")


def analyze() -> float:
    """VACUUM ANALYZE the tables the payment and the member's page touch; return the seconds."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


# Every transaction of the other members: the member drawn (skewed: member m is drawn with
# probability ~ 1/sqrt(m)), its rank k among that member's (its sequence), amount, running
# balance, and a time in the last 25 days in the order drawn.
_DRAW = f"""
CREATE TEMP TABLE growth_tx AS
WITH drawn AS (
    SELECT n, floor(%(members)s * power(random(), 2))::int AS m FROM generate_series(1, %(count)s::bigint) n
), ranked AS (
    SELECT n, m, row_number() OVER (PARTITION BY m ORDER BY n) AS k FROM drawn
), priced AS (
    SELECT n, m, k, CASE WHEN k %% 10 = 1 THEN {TOPUP} ELSE -(10000 + (n * 7919) %% 40001) END AS amount FROM ranked
)
SELECT md5('growth-tx-' || n)::uuid AS id, md5('growth-member-' || m)::uuid AS member_id, m, n, k,
       CASE WHEN amount > 0 THEN 'topup' ELSE 'payment' END AS kind, amount,
       sum(amount) OVER (PARTITION BY m ORDER BY n) AS balance_after,
       now() - interval '25 days' + n * (interval '25 days' / %(count)s) AS created_at,
       false AS actor
FROM priced
"""

# The actors' older history: twice a top-up then nine payments that spend it.
_ACTOR_HISTORY = """
INSERT INTO growth_tx (id, member_id, m, n, k, kind, amount, balance_after, created_at, actor)
SELECT md5('growth-actor-tx-' || a || '-' || k)::uuid, a, -1, -k, k,
       CASE WHEN k %% 10 = 1 THEN 'topup' ELSE 'payment' END,
       CASE WHEN k %% 10 = 1 THEN %(topup)s ELSE -(%(topup)s / 9) END,
       %(topup)s - ((k - 1) %% 10) * (%(topup)s / 9),
       now() - interval '40 days' + k * interval '1 hour', true
FROM unnest(%(actors)s::uuid[]) a CROSS JOIN generate_series(1, %(per_actor)s) k
"""

# The merchants the payments go to, numbered from 0, with their accounts' ids (opened if
# none), and the bank's account: an entry's counterparty is a lookup, not a join condition.
_MERCHANT_ACCOUNTS = [
    f"""INSERT INTO {_ACCOUNT} (kind, owner, balance, version, created_at)
SELECT 'merchant', owner, 0, 0, now() FROM unnest(%(merchants)s::text[]) owner
UNION ALL SELECT 'system', 'bank', 0, 0, now()
ON CONFLICT (kind, owner) DO NOTHING""",
    f"""CREATE TEMP TABLE growth_merchant AS
SELECT g.ordinality - 1 AS i, g.owner, a.id AS account_id
FROM unnest(%(merchants)s::text[]) WITH ORDINALITY AS g(owner, ordinality)
JOIN {_ACCOUNT} a ON a.kind = 'merchant' AND a.owner = g.owner
UNION ALL SELECT -1, 'bank', id FROM {_ACCOUNT} WHERE kind = 'system' AND owner = 'bank'""",
]

_BUILD = [
    f"""INSERT INTO {_MEMBER} (id, name, email, phone, version, created_at, updated_at)
        SELECT member_id, 'Growth member ' || m, 'growth-' || m || '@bench.blipay.test', '+6281300000000', 1,
               min(created_at), min(created_at)
        FROM growth_tx WHERE NOT actor GROUP BY member_id, m""",
    f"""INSERT INTO {_ACCOUNT} (kind, owner, balance, version, created_at)
        SELECT 'member', member_id::text, sum(amount), count(*), min(created_at)
        FROM growth_tx WHERE NOT actor GROUP BY member_id""",
    f"""INSERT INTO {_OVERVIEW} (member_id, name, email, phone, created_at, balance, updated_at)
        SELECT member_id, 'Growth member ' || m, 'growth-' || m || '@bench.blipay.test', '+6281300000000',
               min(created_at), sum(amount), max(created_at)
        FROM growth_tx WHERE NOT actor GROUP BY member_id, m""",
    # A top-up's reference is its top-up's id, a payment's its payment's id.
    f"""INSERT INTO {_LEDGER} (id, kind, reference, member_id, amount, balance_after, description, created_at)
        SELECT id, kind, md5('growth-ref-' || id)::uuid::text, member_id, amount, balance_after,
               CASE kind WHEN 'topup' THEN 'Top-up by bank transfer' ELSE 'Payment' END, created_at
        FROM growth_tx""",
    f"""INSERT INTO {_ENTRY} (transaction_id, account_id, amount)
        SELECT t.id, a.id, t.amount FROM growth_tx t
        JOIN {_ACCOUNT} a ON a.kind = 'member' AND a.owner = t.member_id::text
        UNION ALL
        SELECT t.id, g.account_id, -t.amount FROM growth_tx t
        JOIN growth_merchant g ON g.i = CASE t.kind WHEN 'topup' THEN -1 ELSE abs(t.n) %% %(merchants)s END""",
    f"""INSERT INTO {_PAYMENT} (id, member_id, merchant_id, amount, refunded_amount, description, status, version,
                               created_at)
        SELECT md5('growth-ref-' || t.id)::uuid, t.member_id, g.owner::uuid, -t.amount, 0, '', 'succeeded', 1,
               t.created_at
        FROM growth_tx t JOIN growth_merchant g ON g.i = abs(t.n) %% %(merchants)s
        WHERE t.kind = 'payment'""",
    f"""INSERT INTO {_LINE} (id, member_id, kind, amount, balance_after, description, created_at)
        SELECT id, member_id, kind, amount, balance_after,
               CASE kind WHEN 'topup' THEN 'Top-up by bank transfer' ELSE 'Payment' END, created_at
        FROM growth_tx""",
    # Each other member's balance change as emit() stores it, sent: the body of a real
    # wallet.balance_changed of this run with this transaction's fields.
    f"""INSERT INTO published (id, version, destination, body, added, expires_at, retry, status, headers)
        SELECT md5('growth-event-' || t.id)::uuid, p.version, p.destination,
               p.body || jsonb_build_object(
                   'id', md5('growth-event-' || t.id)::uuid, 'subject', t.member_id, 'sequence', t.k,
                   'time', t.created_at, 'correlation_id', md5('growth-correlation-' || t.id)::uuid,
                   'data', jsonb_build_object(
                       'member_id', t.member_id, 'balance', t.balance_after, 'currency', 'IDR',
                       'transaction', jsonb_build_object(
                           'id', t.id, 'kind', t.kind, 'amount', t.amount,
                           'reference', md5('growth-ref-' || t.id)::uuid,
                           'description', CASE t.kind WHEN 'topup' THEN 'Top-up by bank transfer' ELSE 'Payment' END,
                           'created_at', t.created_at))),
               t.created_at, p.expires_at, 0, 2, p.headers
        FROM growth_tx t
        CROSS JOIN (SELECT * FROM published WHERE destination = '{_BALANCE_CHANGED}' LIMIT 1) p
        WHERE NOT t.actor""",
]
