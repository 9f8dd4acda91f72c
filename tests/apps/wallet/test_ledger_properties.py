"""Whatever the order of top-ups, payments, refunds and cashbacks: the ledger balances, no
balance goes negative, and the read model shows exactly what the ledger holds."""

import uuid

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.members.services import member_register
from apps.merchants.services import merchant_register
from apps.overview.models import MemberOverview, TransactionLine
from apps.payments.errors import RefundExceedsPayment
from apps.payments.services import (
    bank_payment_confirm,
    payment_create,
    refund_issue,
    topup_create,
)
from apps.promotions.events import CashbackGranted
from apps.wallet.errors import InsufficientBalance
from apps.wallet.models import Account, Entry, LedgerTransaction
from blipay.events.consumers import drain
from blipay.events.outbox import Outbound, emit

pytestmark = pytest.mark.django_db(transaction=True)

amounts = st.integers(min_value=1, max_value=200_000)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("topup"), amounts),
        st.tuples(st.just("pay"), amounts),
        st.tuples(st.just("refund"), st.integers(min_value=0, max_value=20), amounts),
        st.tuples(st.just("cashback"), st.integers(min_value=1, max_value=50_000)),
    ),
    max_size=25,
)


@pytest.fixture
def merchant_id() -> str:
    merchant = merchant_register(name="Toko", email=f"{uuid.uuid4().hex}@toko.id").merchant
    drain()
    return str(merchant.id)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_any_sequence_keeps_the_ledger_balanced_and_the_read_model_equal(merchant_id, ops):
    member_id = str(member_register(name="Prop", email=f"{uuid.uuid4().hex}@p.id", phone="+62811").member.id)
    expected = 0
    payments: list[str] = []
    for op in ops:
        match op:
            case ("topup", amount):
                topup = topup_create(member_id=member_id, amount=amount)
                bank_payment_confirm(
                    reference=topup.reference,
                    amount=amount,
                    bank_transaction_id=uuid.uuid4().hex,
                    paid_at=topup.created_at,
                    payload={},
                )
                expected += amount
            case ("pay", amount):
                try:
                    payments.append(str(payment_create(member_id=member_id, merchant_id=merchant_id, amount=amount).id))
                    expected -= amount
                except InsufficientBalance:
                    assert amount > expected
            case ("refund", index, amount) if payments:
                try:
                    refund_issue(payment_id=payments[index % len(payments)], amount=amount)
                    expected += amount
                except RefundExceedsPayment:
                    pass
            case ("cashback", amount):
                with transaction.atomic():
                    granted = CashbackGranted(
                        id=str(uuid.uuid4()),
                        promotion_id=str(uuid.uuid4()),
                        payment_id=str(uuid.uuid4()),
                        member_id=member_id,
                        merchant_id=merchant_id,
                        amount=amount,
                    )
                    emit(Outbound(granted, subject=str(uuid.uuid4()), sequence=1))
                drain()
                expected += amount
        assert 0 <= _balance(member_id) == expected
    drain()

    unbalanced = Entry.objects.values("transaction").annotate(total=Sum("amount")).exclude(total=0)
    assert not unbalanced.exists()
    member_entries = Entry.objects.filter(account__kind=Account.MEMBER, account__owner=member_id)
    assert (member_entries.aggregate(total=Sum("amount"))["total"] or 0) == expected
    ledger = set(LedgerTransaction.objects.filter(member_id=member_id).values_list("id", "amount"))
    read_model = set(TransactionLine.objects.filter(member_id=member_id).values_list("id", "amount"))
    assert read_model == ledger
    assert MemberOverview.objects.get(member_id=member_id).balance == expected


def _balance(member_id: str) -> int:
    return Account.objects.filter(kind=Account.MEMBER, owner=member_id).values_list("balance", flat=True).first() or 0
