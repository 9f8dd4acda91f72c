"""``manage.py audit`` after a real flow: clean, then each discrepancy broken in on purpose
is named, with exit status 1, in the human output and the same in ``--json``."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from apps.overview.models import MemberOverview
from apps.wallet.models import Account, Entry, LedgerTransaction
from blipay.events.envelope import Envelope
from blipay.events.inbox import record_failure
from blipay.events.models import AppliedEvent, ModuleOwner

pytestmark = pytest.mark.django_db(transaction=True)


def audit(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("audit", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def settled(register_member, register_merchant, fund, pump):
    """Register, top up through the bank webhook, pay, refund part: every event applied."""
    ani, kopi = register_member(), register_merchant()
    fund(ani, 100_000)
    payment = ani.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 30_000}, format="json").json()
    refund = kopi.client.post(f"/api/v1/payments/{payment['id']}/refunds", {"amount": 10_000}, format="json")
    assert refund.status_code == 201, refund.content
    pump()
    return ani


def test_a_settled_system_audits_clean_every_event_applied_by_every_consumer(settled):
    status, out = audit("--pending-seconds", "0")

    assert status == 0, out
    assert "clean" in out.splitlines()[-1]
    assert "FAIL" not in out


def test_a_module_handed_over_to_a_service_still_applies_its_events_here_so_audits_clean(register_member, fund):
    ModuleOwner.objects.create(module="notifications", owner="notifications", epoch=1, marker_id="test")
    ani = register_member()
    fund(ani, 50_000)

    status, out = audit("--pending-seconds", "0")

    assert status == 0, out


def test_an_unbalanced_ledger_transaction_is_named(settled):
    transaction = LedgerTransaction.objects.filter(member_id=settled.id, kind="payment").get()
    Entry.objects.create(transaction=transaction, account=Account.objects.get(owner=settled.id), amount=5)

    status, out = audit()

    assert status == 1
    assert f"FAIL ledger.unbalanced {transaction.id}: entries sum to +5, not 0" in out
    # the extra entry also moved the member's ledger sum away from its balance
    assert f"FAIL wallet.balance_vs_ledger {settled.id}: balance 80,000 but its entries sum to 80,005" in out


def test_a_read_model_balance_that_differs_from_the_wallet_is_named(settled):
    MemberOverview.objects.filter(member_id=settled.id).update(balance=79_000)

    status, out = audit()

    assert status == 1
    assert f"FAIL overview.balance_vs_wallet {settled.id}: read model shows 79,000, the wallet holds 80,000" in out


def test_an_outbox_row_pending_longer_than_allowed_is_named(settled):
    row = Published.objects.order_by("added").first()
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    Published.objects.filter(pk=row.pk).update(status=StatusChoice.SCHEDULE, added=two_minutes_ago)

    assert audit("--pending-seconds", "300")[0] == 0
    status, out = audit()

    assert status == 1
    assert f"FAIL outbox.pending {row.pk}: {row.destination} waiting since" in out


def test_a_failed_inbox_row_is_named_and_a_missing_one_too(settled):
    failed, missing = AppliedEvent.objects.filter(consumer="overview").order_by("applied_at")[:2]
    AppliedEvent.objects.filter(key__in=[failed.key, missing.key]).delete()
    record_failure(
        "overview", Envelope.from_dict(Published.objects.get(id=failed.event_id).body), attempts=3, error="x"
    )

    status, out = audit("--pending-seconds", "0")

    assert status == 1
    assert f"FAIL inbox.failed {failed.key}: {failed.routing_key}: x" in out
    assert f"inbox.missing {failed.event_id}" not in out  # failed, not missing
    assert f"FAIL inbox.missing {missing.event_id}: {missing.routing_key} not applied by overview" in out


def test_json_output_parses_and_carries_the_same_findings(settled):
    MemberOverview.objects.filter(member_id=settled.id).update(balance=1)
    status, human = audit()

    json_status, out = audit("--json")
    document = json.loads(out)

    assert status == json_status == 1
    assert document["clean"] is False
    assert [f"FAIL {f['check']} {f['subject']}: {f['detail']}" for f in document["findings"]] == [
        line for line in human.splitlines() if line.startswith("FAIL")
    ]
    assert "ledger.unbalanced" in document["checks"]
