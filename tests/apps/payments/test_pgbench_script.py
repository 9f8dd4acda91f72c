"""bench/payment.pgbench (the SQL anchor of figure api_payments_vs_sql) is what a payment runs
now: regenerated from a real payment here, it differs from the committed copy in values only.
The bench generates its script from a real payment on every run; this keeps the copy a
reader sees honest."""

import re
from pathlib import Path

import pytest

from apps.wallet.models import Account
from bench import payment_sql

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

COMMITTED = Path(payment_sql.__file__).with_name("payment.pgbench")
LITERAL = re.compile(r"'(?!:)(?:[^']|'')*'")  # a quoted value, not a ':variable'
NUMBER = re.compile(r"(?<![\w:.])-?\d+(?![\w.])")


def _shape(script: str) -> list[str]:
    return [NUMBER.sub("?", LITERAL.sub("'?'", line)) for line in script.splitlines()]


def test_the_committed_pgbench_script_runs_the_statements_a_payment_runs_now(
    register_member, register_merchant, credit
):
    # Account ids apart from the small numbers a payment's parameters hold (0, 1, versions).
    Account.objects.bulk_create([Account(kind=Account.SYSTEM, owner=f"filler-{n}") for n in range(20)])
    ani, budi, kopi = register_member(), register_member(), register_merchant()
    credit(ani, 100_000)
    credit(budi, 100_000)
    body = {"merchant_id": kopi.id, "amount": 1_000, "description": "bench"}
    assert ani.client.post("/api/v1/payments", body, format="json").status_code == 201  # opens the merchant's account

    statements = payment_sql.capture(budi.token, body)
    script = payment_sql.script(statements, payment_sql.actor_of(budi.token, kopi.id), members=1_000)

    assert _shape(script) == _shape(COMMITTED.read_text())
