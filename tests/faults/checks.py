"""After the faults: let the system settle, then check it as its users and its operator
would. The audit is clean but for what the faults put there on purpose; each client sees
exactly what its own successful requests add up to; every event reached every module that
handles it, once."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass

from tests.faults.stack import Stack
from tests.faults.traffic import Api, World

SETTLE_TIMEOUT = 180.0
SCHEDULE, SUCCEEDED = 1, 2  # django_outbox_pattern's StatusChoice


def queue_messages(stack: Stack) -> dict[str, int]:
    """Messages in each queue of the private broker, ready and unacknowledged."""
    out = stack.node.ctl("list_queues", "name", "messages", "--no-table-headers")
    return {name: int(count) for name, count in (line.split() for line in out.splitlines() if line.strip())}


def settle(stack: Stack, timeout: float = SETTLE_TIMEOUT) -> float:
    """Wait until nothing is in flight: no outbox row waiting, no module queue holding a
    message, and no event emitted between two such looks (a consumer commits its follow-up
    events before it acks). Returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        (before, pending), *_ = stack.sql(
            "SELECT count(*), count(*) FILTER (WHERE status = %s) FROM published", (SCHEDULE,)
        )
        busy = {
            name: count
            for name, count in queue_messages(stack).items()
            if count and name.startswith("blipay.") and not name.endswith((".dead", ".tasks")) and "celery" not in name
        }
        (after,) = stack.sql("SELECT count(*) FROM published")[0]
        if not pending and not busy and before == after:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled in {timeout}s: {pending} outbox rows waiting, queues {busy}")
        time.sleep(0.5)


def audit(stack: Stack) -> dict:
    """`manage.py audit --json`, strict (nothing may still be pending once settled). Every
    finding must be one a fault put there on purpose, and each of those must be found."""
    done = stack.manage("audit", "--json", "--pending-seconds", "0", "--limit", "1000", check=False)
    result = json.loads(done.stdout)
    assert not result["skipped"], result["skipped"]
    findings = {(f["check"], f["subject"]): f["detail"] for f in result["findings"]}
    expected = set(stack.expected_findings) | {("broker.dead_letters", queue) for queue in stack.poisoned}
    unexpected = {key: detail for key, detail in findings.items() if key not in expected}
    assert not unexpected, f"audit: {unexpected}"
    assert set(findings) == expected, f"audit missed deliberate findings: {expected - set(findings)}"
    for queue, count in stack.poisoned.items():
        assert findings["broker.dead_letters", queue] == f"{count} messages dead-lettered", findings
    assert done.returncode == (1 if expected else 0), done.stderr
    return result


@dataclass
class ClientView:
    members: int
    payments: int
    lost: list[str]  # something a client was told happened that isn't there
    doubled: list[str]  # something there more often than the client was told

    @property
    def clean(self) -> bool:
        return not self.lost and not self.doubled


def client_view(api: Api, world: World) -> ClientView:
    """Each member's balance, ledger and welcome as the API shows them, against the tally;
    each payment's refunds as its merchant sees them."""
    lost, doubled = [], []
    for member in world.members:
        shown = api.call("GET", f"/api/v1/members/{member.id}", token=member.token).body
        balance = shown["balance"]["amount"]
        if balance < member.balance:
            lost.append(f"member {member.id}: balance {balance}, its requests add up to {member.balance}")
        elif balance > member.balance:
            doubled.append(f"member {member.id}: balance {balance}, its requests add up to {member.balance}")
        ledger = Counter(
            (line["kind"], "" if line["kind"] == "cashback" else line["reference"], line["amount"])
            for line in api.get_all(f"/api/v1/members/{member.id}/transactions", member.token)
        )
        if missing := member.ledger - ledger:
            lost.append(f"member {member.id}: ledger lacks {dict(missing)}")
        if extra := ledger - member.ledger:
            doubled.append(f"member {member.id}: ledger has more {dict(extra)}")
        welcomes = sum(
            1 for n in api.get_all(f"/api/v1/members/{member.id}/notifications", member.token) if n["kind"] == "welcome"
        )
        if welcomes != 1:
            (lost if welcomes < 1 else doubled).append(f"member {member.id}: {welcomes} welcome notifications")
    for payment in world.payments:
        shown = api.call("GET", f"/api/v1/payments/{payment.id}", token=payment.merchant.api_key).body
        if shown["refunded_amount"] != payment.refunded or shown["amount"] != payment.amount:
            (lost if shown["refunded_amount"] < payment.refunded else doubled).append(
                f"payment {payment.id}: merchant sees {shown['amount']} refunded {shown['refunded_amount']}, "
                f"its requests say {payment.amount} refunded {payment.refunded}"
            )
    return ClientView(len(world.members), len(world.payments), lost, doubled)


def subscribed_keys(stack: Stack) -> dict[str, set[str]]:
    """module → the routing keys its queue is bound to on the running system's broker."""
    out = stack.node.ctl("list_bindings", "source_name", "destination_name", "routing_key", "--no-table-headers")
    keys: dict[str, set[str]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "blipay.events" and parts[1].startswith("blipay."):
            keys.setdefault(parts[1].removeprefix("blipay."), set()).add(parts[2])
    assert keys, f"no module queue bound on the broker: {out}"
    return keys


def read_model_lags(stack: Stack, since: str) -> list[float]:
    """Seconds from each event's time (its commit, near enough) to the overview, the read
    model, applying it."""
    rows = stack.sql(
        "SELECT extract(epoch FROM i.applied_at - (p.body->>'time')::timestamptz)::float "
        "FROM published p JOIN blipay_inbox i ON i.key = 'overview:' || (p.body->>'id') "
        "WHERE p.added >= %s::timestamptz",
        (since,),
    )
    return [lag for (lag,) in rows]


@dataclass
class EventFigures:
    produced: int  # events committed to the outbox
    relayed: int  # of them, sent to the broker
    deliveries: int  # (module, event) pairs a consuming module had to apply
    applied: int  # of them, applied (inbox rows)
    failed: int  # of them, dead-lettered and kept as failures
    lost: int  # of them, neither applied nor kept as a failure
    p99_commit_to_read_model_ms: float | None  # event's time → the overview applied it


def event_figures(stack: Stack, *, since: str = "-infinity") -> EventFigures:
    """Counts from the outbox and the inbox of events emitted since ``since`` (ISO time)."""
    keys = subscribed_keys(stack)
    (produced, relayed), *_ = stack.sql(
        "SELECT count(*), count(*) FILTER (WHERE status = %s) FROM published WHERE added >= %s::timestamptz",
        (SUCCEEDED, since),
    )
    deliveries = applied = failed = 0
    for module, module_keys in keys.items():
        (want, ok, bad), *_ = stack.sql(
            "SELECT count(*), count(i.key), count(r.id) FILTER (WHERE r.status = -1 AND i.key IS NULL) "
            "FROM published p LEFT JOIN blipay_inbox i ON i.key = %s || (p.body->>'id') "
            "LEFT JOIN received r ON r.msg_id = %s || (p.body->>'id') "
            "WHERE p.added >= %s::timestamptz AND p.destination = ANY(%s)",
            (f"{module}:", f"{module}:", since, list(module_keys)),
        )
        deliveries, applied, failed = deliveries + want, applied + ok, failed + bad
    lags = read_model_lags(stack, since)
    p99 = statistics.quantiles(lags, n=100)[98] if len(lags) > 1 else None
    return EventFigures(
        produced=produced,
        relayed=relayed,
        deliveries=deliveries,
        applied=applied,
        failed=failed,
        lost=deliveries - applied - failed,
        p99_commit_to_read_model_ms=round(p99 * 1000, 1) if p99 is not None else None,
    )
