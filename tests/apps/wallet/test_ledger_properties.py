"""Whatever the order of top-ups, bank confirmations (repeated, for the wrong amount, for a
top-up already paid), payments, refunds and cashbacks (redelivered, granted twice), the
wallet does exactly what a model of it says: every refusal is the one the model predicts,
every balance and every payment's refunded amount is the model's, the ledger balances and
the read model shows exactly what the ledger holds.

The model (``Oracle``) is the rules in a few lines: a payment goes through iff it is at
most the balance; a refund iff it is at most what is left of its payment; a confirmation
credits iff its amount is the top-up's and the top-up is unpaid; a repeat of a
confirmation or of a cashback changes nothing."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from django.db import transaction
from django.db.models import Sum
from django_outbox_pattern.models import Published
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apps.members.services import member_register
from apps.merchants.services import merchant_register
from apps.overview.models import MemberOverview, TransactionLine
from apps.payments.errors import RefundExceedsPayment
from apps.payments.models import BankNotification, Payment
from apps.payments.services import bank_payment_confirm, payment_create, refund_issue, topup_create
from apps.promotions.events import CashbackGranted
from apps.wallet.errors import InsufficientBalance
from apps.wallet.models import Account, Entry, LedgerTransaction
from apps.wallet.public import balance_of
from blipay.events.broker import ConfirmingPublisher, OutgoingMessage
from blipay.events.consumers import drain
from blipay.events.outbox import Outbound, emit

pytestmark = pytest.mark.django_db(transaction=True)

amounts = st.integers(min_value=1, max_value=200_000)
index = st.integers(min_value=0, max_value=20)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("topup"), amounts),  # asked for and confirmed at once
        st.tuples(st.just("ask"), amounts),  # asked for, confirmed later (or never)
        st.tuples(st.just("confirm"), index, st.sampled_from([0, 0, -1, 1, 1_000])),  # amount off by this
        st.tuples(st.just("bank_repeat"), index),  # the bank sends an earlier confirmation again
        st.tuples(st.just("pay"), amounts),
        st.tuples(st.just("pay_all"), st.sampled_from([-1, 0, 1])),  # the balance, give or take
        st.tuples(st.just("refund"), index, amounts),
        st.tuples(st.just("refund_rest"), index, st.sampled_from([-1, 0, 1])),  # what is left, give or take
        st.tuples(st.just("cashback"), st.integers(min_value=1, max_value=50_000)),
        st.tuples(st.just("cashback_redelivered"), index),  # the same event, from the broker again
        st.tuples(st.just("cashback_regranted"), index),  # a new event for a grant already credited
    ),
    max_size=30,
)


@dataclass
class Oracle:
    """What the wallet must hold: the balance, what is left to refund of each payment, and
    which top-ups are paid."""

    balance: int = 0
    refundable: dict[str, int] = field(default_factory=dict)  # payment id → still refundable
    paid: dict[str, bool] = field(default_factory=dict)  # top-up reference → paid
    asked: dict[str, int] = field(default_factory=dict)  # top-up reference → its amount


@dataclass
class World:
    member_id: str
    merchant_id: str
    oracle: Oracle = field(default_factory=Oracle)
    payments: list[str] = field(default_factory=list)
    topups: list[tuple[str, datetime]] = field(default_factory=list)  # reference, created_at
    confirmations: list[tuple[dict, str]] = field(default_factory=list)  # what the bank sent, the outcome
    grants: list[CashbackGranted] = field(default_factory=list)
    grant_events: list[str] = field(default_factory=list)  # the outbox id of each grant's first event


@pytest.fixture
def merchant_id() -> str:
    merchant = merchant_register(name="Toko", email=f"{uuid.uuid4().hex}@toko.id").merchant
    drain()
    return str(merchant.id)


# How many examples: the hypothesis profile (tests/conftest.py; `make mutate` runs fewer).
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
# The boundaries, always tried: the exact balance, one more than it, the exact rest of a
# payment and one more, and every way a bank confirmation or a cashback comes twice.
@example([("topup", 10_000), ("pay", 10_000), ("pay", 1)])
@example([("topup", 10_000), ("pay", 10_001), ("pay_all", 0), ("pay_all", 1)])
@example([("topup", 10_000), ("pay_all", 0), ("refund_rest", 0, 0), ("refund_rest", 0, 1), ("pay_all", 0)])
@example([("topup", 9_000), ("pay", 6_000), ("refund", 0, 6_001), ("refund", 0, 6_000), ("refund", 0, 1)])
@example([("topup", 9_000), ("pay", 6_000), ("refund", 0, 2_000), ("refund_rest", 0, 1), ("refund_rest", 0, 0)])
@example([("ask", 7_000), ("confirm", 0, 1), ("confirm", 0, -1), ("confirm", 0, 0), ("confirm", 0, 0)])
@example([("ask", 7_000), ("confirm", 0, 0), ("bank_repeat", 0), ("bank_repeat", 0), ("pay", 7_000)])
@example([("ask", 7_000), ("confirm", 0, 1_000), ("bank_repeat", 0), ("confirm", 0, 0), ("bank_repeat", 1)])
@example([("cashback", 500), ("cashback_redelivered", 0), ("cashback_regranted", 0), ("pay", 500), ("pay", 1)])
@example([("pay", 1), ("pay_all", 0), ("pay_all", 1), ("refund", 0, 1)])
def test_any_sequence_does_what_the_model_says(merchant_id, ops):
    member_id = str(member_register(name="Prop", email=f"{uuid.uuid4().hex}@p.id", phone="+62811").member.id)
    world = World(member_id=member_id, merchant_id=merchant_id)
    for op in ops:
        _apply(world, op)
        _assert_matches(world)
    drain()

    oracle = world.oracle
    unbalanced = Entry.objects.values("transaction").annotate(total=Sum("amount")).exclude(total=0)
    assert not unbalanced.exists()
    member_entries = Entry.objects.filter(account__kind=Account.MEMBER, account__owner=member_id)
    assert (member_entries.aggregate(total=Sum("amount"))["total"] or 0) == oracle.balance
    last = LedgerTransaction.objects.filter(member_id=member_id).order_by("-created_at").first()
    assert (last.balance_after if last else 0) == oracle.balance
    fields = ("id", "kind", "amount", "balance_after", "description", "created_at")
    ledger = set(LedgerTransaction.objects.filter(member_id=member_id).values_list(*fields))
    read_model = set(TransactionLine.objects.filter(member_id=member_id).values_list(*fields))
    assert read_model == ledger
    # wallet.balance_changed: one per posting, numbered 1, 2, 3… for the member, each with
    # the balance it left.
    changes = [
        (row.body["sequence"], row.body["data"]["balance"], row.body["data"]["transaction"]["id"])
        for row in Published.objects.filter(destination="wallet.balance_changed.v1", body__subject=member_id)
    ]
    postings = LedgerTransaction.objects.filter(member_id=member_id).order_by("created_at")
    assert sorted(changes) == [(n, t.balance_after, str(t.id)) for n, t in enumerate(postings, start=1)]
    assert MemberOverview.objects.get(member_id=member_id).balance == oracle.balance


def _apply(world: World, op: tuple) -> None:
    oracle = world.oracle
    match op:
        case ("topup", amount):
            reference = _ask(world, amount)
            _confirm(world, reference, amount)
        case ("ask", amount):
            _ask(world, amount)
        case ("confirm", i, off) if world.topups:
            reference, _ = world.topups[i % len(world.topups)]
            _confirm(world, reference, oracle.asked[reference] + off)
        case ("bank_repeat", i) if world.confirmations:
            sent, outcome = world.confirmations[i % len(world.confirmations)]
            assert bank_payment_confirm(**sent, payload={}).outcome == outcome
        case ("pay", amount):
            _pay(world, amount)
        case ("pay_all", off):
            _pay(world, oracle.balance + off)
        case ("refund", i, amount) if world.payments:
            _refund(world, world.payments[i % len(world.payments)], amount)
        case ("refund_rest", i, off) if world.payments:
            payment_id = world.payments[i % len(world.payments)]
            _refund(world, payment_id, oracle.refundable[payment_id] + off)
        case ("cashback", amount):
            granted = CashbackGranted(
                id=str(uuid.uuid4()),
                promotion_id=str(uuid.uuid4()),
                payment_id=str(uuid.uuid4()),
                member_id=world.member_id,
                merchant_id=world.merchant_id,
                amount=amount,
            )
            world.grant_events.append(_grant(granted))
            world.grants.append(granted)
            oracle.balance += amount
        case ("cashback_redelivered", i) if world.grants:
            # The very event again, as a broker redelivers it: the wallet's inbox absorbs it.
            body = Published.objects.get(id=world.grant_events[i % len(world.grants)]).body
            assert ConfirmingPublisher().publish([OutgoingMessage.from_envelope(body)]) == set()
            drain()
        case ("cashback_regranted", i) if world.grants:
            # Another event for the same grant (promotions re-emitting it): the ledger's
            # one-posting-per-grant absorbs it.
            _grant(world.grants[i % len(world.grants)])


def _ask(world: World, amount: int) -> str:
    topup = topup_create(member_id=world.member_id, amount=amount)
    world.topups.append((topup.reference, topup.created_at))
    world.oracle.asked[topup.reference] = amount
    world.oracle.paid[topup.reference] = False
    return topup.reference


def _confirm(world: World, reference: str, amount: int) -> None:
    oracle = world.oracle
    sent = {
        "reference": reference,
        "amount": amount,
        "bank_transaction_id": uuid.uuid4().hex,
        "paid_at": dict(world.topups)[reference],
    }
    if amount != oracle.asked[reference]:
        expected = BankNotification.AMOUNT_MISMATCH
    elif oracle.paid[reference]:
        expected = BankNotification.ALREADY_PAID
    else:
        expected = BankNotification.CREDITED
        oracle.paid[reference] = True
        oracle.balance += amount
    outcome = bank_payment_confirm(**sent, payload={}).outcome
    assert outcome == expected
    world.confirmations.append((sent, outcome))


def _pay(world: World, amount: int) -> None:
    oracle = world.oracle
    if amount < 1:
        return  # the API refuses it before the service (tested with the API)
    if amount > oracle.balance:
        with pytest.raises(InsufficientBalance):
            payment_create(member_id=world.member_id, merchant_id=world.merchant_id, amount=amount)
        return
    payment_id = str(payment_create(member_id=world.member_id, merchant_id=world.merchant_id, amount=amount).id)
    world.payments.append(payment_id)
    oracle.refundable[payment_id] = amount
    oracle.balance -= amount


def _refund(world: World, payment_id: str, amount: int) -> None:
    oracle = world.oracle
    if amount < 1:
        return
    if amount > oracle.refundable[payment_id]:
        with pytest.raises(RefundExceedsPayment):
            refund_issue(payment_id=payment_id, amount=amount)
        return
    refund_issue(payment_id=payment_id, amount=amount)
    oracle.refundable[payment_id] -= amount
    oracle.balance += amount


def _grant(granted: CashbackGranted) -> str:
    with transaction.atomic():
        event_id = emit(Outbound(granted, subject=granted.id, sequence=1))[0].id
    drain()
    return event_id


def _assert_matches(world: World) -> None:
    oracle = world.oracle
    assert balance_of(member_id=world.member_id) == oracle.balance
    assert oracle.balance >= 0
    payments = Payment.objects.filter(id__in=world.payments).values_list("id", "amount", "refunded_amount")
    assert {str(pid): amount - refunded for pid, amount, refunded in payments} == oracle.refundable
