"""The SQL one payment runs, as a pgbench script: the database's own ceiling for our
transaction (figure ``api_payments_vs_sql``).

The script is not written by hand: ``capture`` runs one real ``POST /api/v1/payments``
in process (Django's test client, the product's URLs and middleware) as a caller the
process hasn't seen, records every statement with its parameters (Django's
``execute_wrapper``), and ``script`` writes them out as pgbench commands, each parameter
as the client-side binding renders it, except:

* the caller's values (member id, merchant id, credential hash, member account id)
  become variables of a randomly chosen funded member, as the load picks one;
* every other UUID (the payment's, the ledger line's, the outbox rows' and the envelopes'
  inside their JSON) becomes a fresh ``gen_random_uuid()`` per transaction.

Those come from one statement of the script's own before the payment's (a ``\\gset``
from ``bench_pgbench_actor``). So the statements can't drift from the product's: the bench
generates the script from a real payment on every run, and ``bench/payment.pgbench`` is
the copy of one such run that ``tests/apps/payments/test_pgbench_script.py`` compares with what a
payment runs now. The credential lookup is included although a caller's principal is
remembered for 5 s (the figure's load rarely runs it): the anchor does at least what a
payment does.
"""

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from psycopg import sql as pgsql

ACTOR_TABLE = "bench_pgbench_actor"
UUID_TEXT = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


@dataclass(frozen=True)
class Actor:
    member: str
    merchant: str
    key_hash: str
    account: int


@dataclass(frozen=True)
class Statement:
    sql: str  # with %s placeholders, as Django sent it
    params: tuple[Any, ...]


def actor_of(token: str, merchant: str) -> Actor:
    """The member behind ``token``, paying ``merchant``: the values the script varies."""
    from apps.wallet.models import Account
    from blipay.identity.credentials import principal_for
    from blipay.identity.models import Credential

    member = principal_for(token).id
    key_hash = Credential.objects.filter(kind=Credential.MEMBER, subject=member).values_list("key_hash", flat=True)
    account = Account.objects.filter(kind=Account.MEMBER, owner=member).values_list("id", flat=True)
    return Actor(member=member, merchant=merchant, key_hash=key_hash.get(), account=account.get())


def capture(token: str, body: dict[str, Any]) -> list[Statement]:
    """The statements of one real payment by the caller ``token`` (whose principal this
    process hasn't remembered), BEGIN and COMMIT included. The relay kick after the commit
    is left out: it is the backbone's, and pgbench has no relay to kick."""
    from django.conf import settings

    connection.ensure_connection()
    sent: list[Statement] = []

    def record(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        sent.append(Statement(sql=sql, params=tuple(params or ())))
        return execute(sql, params, many, context)

    events = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}
    # A request first, so what a process reads now and then (the strangler's route table,
    # every 2 s) isn't taken for the payment's.
    Client().get("/api/v1/payments")
    with (
        override_settings(BLIPAY_EVENTS=events, BLIPAY_RATE_LIMITS=None),
        CaptureQueriesContext(connection) as logged,  # has BEGIN and COMMIT, which no cursor sends
        connection.execute_wrapper(record),  # has the parameters
    ):
        response = Client().post(
            "/api/v1/payments", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
    if response.status_code != 201:
        raise RuntimeError(f"the payment to capture answered {response.status_code}: {response.content[:300]!r}")
    through_cursors = iter(sent)
    statements = [
        Statement(sql=q["sql"], params=()) if q["sql"] in ("BEGIN", "COMMIT") else next(through_cursors)
        for q in logged.captured_queries
    ]
    if next(through_cursors, None) is not None:
        raise RuntimeError("the captured statements and Django's query log disagree")
    return statements


def script(statements: list[Statement], actor: Actor, *, members: int) -> str:
    """The pgbench script of ``statements`` (see the module's docstring)."""
    fixed = {actor.member: "member", actor.merchant: "merchant", actor.key_hash: "key_hash"}
    fresh: dict[str, str] = {}  # a fresh UUID's dashed form → its variable
    ints = [p for s in statements for p in s.params if isinstance(p, int) and not isinstance(p, bool)]
    if ints.count(actor.account) != 1:
        raise ValueError(f"the member account id {actor.account} is not one parameter alone: pick another actor")

    def variable(match: re.Match) -> str:
        text = str(uuid.UUID(match.group(0)))
        return ":" + (fixed.get(text) or fresh.setdefault(text, f"u{len(fresh) + 1}"))

    def literal(value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and value == actor.account:
            return ":account"
        if value == actor.key_hash:
            return "':key_hash'"
        # The client-side binding's own rendering, the UUIDs in it (a column's, or inside
        # an envelope's JSON) made variables; the variables are substituted as text.
        return UUID_TEXT.sub(variable, pgsql.Literal(value).as_string(connection.connection))

    commands = [_command(s.sql, [literal(p) for p in s.params]) for s in statements]
    draw = ", ".join(f"gen_random_uuid() AS {name}" for name in fresh.values())
    header = [
        "-- Generated by bench/payment_sql.py from one real POST /api/v1/payments; do not edit.",
        f"\\set n random(1, {members})",
        f"SELECT member, merchant, key_hash, account, {draw} FROM {ACTOR_TABLE} WHERE n = :n \\gset",
    ]
    return "\n".join([*header, *commands, ""])


def _command(sql: str, literals: list[str]) -> str:
    parts = sql.split("%s")
    if len(parts) != len(literals) + 1:
        raise ValueError(f"{len(literals)} parameters for {len(parts) - 1} placeholders in {sql[:80]!r}")
    text = parts[0] + "".join(value + part for value, part in zip(literals, parts[1:], strict=True))
    return " ".join(text.split()) + ";"


def write_actors(actors: list[Actor]) -> None:
    """The table the script's first statement picks its member from (n = 1…len)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {ACTOR_TABLE} (n integer PRIMARY KEY, member text NOT NULL,"
            " merchant uuid NOT NULL, key_hash text NOT NULL, account bigint NOT NULL)"
        )
        cursor.execute(f"TRUNCATE {ACTOR_TABLE}")
        cursor.executemany(
            f"INSERT INTO {ACTOR_TABLE} (n, member, merchant, key_hash, account) VALUES (%s, %s, %s, %s, %s)",
            [(n, a.member, a.merchant, a.key_hash, a.account) for n, a in enumerate(actors, start=1)],
        )
