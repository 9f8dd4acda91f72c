"""The wallet's money rules, asked of its public functions directly: every posting balances,
a reference is posted once, and a debit never overdraws."""

import uuid

import pytest
from django.db import transaction
from django.db.models import Sum

from apps.wallet.errors import InsufficientBalance
from apps.wallet.models import Entry, LedgerTransaction
from apps.wallet.public import balance_of, payment_debit, refund_credit, topup_credit
from tests.apps.wallet.factories import funded_member

pytestmark = pytest.mark.django_db


def test_a_top_up_credited_twice_is_posted_once():
    ani, topup_id = str(uuid.uuid4()), str(uuid.uuid4())

    with transaction.atomic():
        first = topup_credit(member_id=ani, amount=25_000, topup_id=topup_id)
        again = topup_credit(member_id=ani, amount=25_000, topup_id=topup_id)

    assert again == first
    assert balance_of(member_id=ani) == 25_000
    assert LedgerTransaction.objects.filter(member_id=ani).count() == 1


def test_every_posting_moves_money_between_two_accounts_and_sums_to_zero():
    ani, kopi = funded_member(40_000), str(uuid.uuid4())

    with transaction.atomic():
        payment_debit(member_id=ani, merchant_id=kopi, amount=15_000, payment_id=str(uuid.uuid4()))
        refund_credit(member_id=ani, merchant_id=kopi, amount=5_000, refund_id=str(uuid.uuid4()))

    assert balance_of(member_id=ani) == 30_000
    totals = Entry.objects.values("transaction").annotate(total=Sum("amount")).values_list("total", flat=True)
    assert set(totals) == {0}
    kinds = LedgerTransaction.objects.filter(member_id=ani).order_by("created_at").values_list("kind", "amount")
    assert list(kinds) == [("topup", 40_000), ("payment", -15_000), ("refund", 5_000)]


def test_a_debit_beyond_the_balance_is_refused_and_posts_nothing():
    ani = funded_member(1_000)

    with pytest.raises(InsufficientBalance), transaction.atomic():
        payment_debit(member_id=ani, merchant_id=str(uuid.uuid4()), amount=1_001, payment_id=str(uuid.uuid4()))

    assert balance_of(member_id=ani) == 1_000
    assert LedgerTransaction.objects.filter(member_id=ani).count() == 1


def test_a_member_the_wallet_has_never_seen_has_a_zero_balance():
    assert balance_of(member_id=str(uuid.uuid4())) == 0


@pytest.mark.django_db(transaction=True)
def test_a_posting_asked_for_outside_a_transaction_commits_on_its_own_once():
    ani, topup_id = str(uuid.uuid4()), str(uuid.uuid4())

    first = topup_credit(member_id=ani, amount=25_000, topup_id=topup_id)
    again = topup_credit(member_id=ani, amount=25_000, topup_id=topup_id)
    with pytest.raises(InsufficientBalance):
        payment_debit(member_id=ani, merchant_id=str(uuid.uuid4()), amount=25_001, payment_id=str(uuid.uuid4()))

    assert again == first and first.balance_after == 25_000
    assert balance_of(member_id=ani) == 25_000
    assert list(LedgerTransaction.objects.filter(member_id=ani).values_list("kind", "amount")) == [("topup", 25_000)]
