"""The payments module's money rules, asked of its services directly: what each command
does to the balance and what it refuses. The HTTP tests are the outside view of the same."""

import uuid

import pytest
from django.utils import timezone

from apps.merchants.errors import MerchantUnknown
from apps.payments.errors import PaymentNotFound, RefundExceedsPayment
from apps.payments.models import BankNotification, Payment, TopUp
from apps.payments.services import bank_payment_confirm, payment_create, refund_issue, topups_expire
from apps.wallet.errors import InsufficientBalance
from apps.wallet.models import Entry, LedgerTransaction
from apps.wallet.public import balance_of
from tests.apps.payments.factories import known_merchant, payment, pending_topup
from tests.apps.wallet.factories import funded_member

pytestmark = pytest.mark.django_db


def _confirm(topup: TopUp, *, amount: int | None = None, bank_transaction_id: str | None = None):
    return bank_payment_confirm(
        reference=topup.reference,
        amount=topup.amount if amount is None else amount,
        bank_transaction_id=bank_transaction_id or f"BCA-{uuid.uuid4().hex[:12]}",
        paid_at=timezone.now(),
        payload={},
    )


# --- payments --------------------------------------------------------------------------


def test_a_payment_moves_the_amount_from_the_member_to_the_merchant():
    ani, kopi = funded_member(100_000), known_merchant()

    paid = payment_create(member_id=ani, merchant_id=kopi, amount=35_000, description="2 kopi susu")

    assert (paid.amount, paid.refunded_amount, paid.status) == (35_000, 0, Payment.SUCCEEDED)
    assert balance_of(member_id=ani) == 65_000
    ledger = LedgerTransaction.objects.get(reference=str(paid.id))
    assert (ledger.kind, ledger.amount, ledger.balance_after) == (LedgerTransaction.PAYMENT, -35_000, 65_000)
    assert sorted(Entry.objects.filter(transaction=ledger).values_list("amount", flat=True)) == [-35_000, 35_000]


def test_a_payment_of_the_whole_balance_is_allowed_and_one_rupiah_more_is_not():
    ani, kopi = funded_member(10_000), known_merchant()

    with pytest.raises(InsufficientBalance):
        payment_create(member_id=ani, merchant_id=kopi, amount=10_001)
    payment_create(member_id=ani, merchant_id=kopi, amount=10_000)

    assert balance_of(member_id=ani) == 0
    assert Payment.objects.count() == 1


def test_a_refused_payment_changes_nothing():
    ani, kopi = funded_member(10_000), known_merchant()

    with pytest.raises(InsufficientBalance):
        payment_create(member_id=ani, merchant_id=kopi, amount=10_001)

    assert balance_of(member_id=ani) == 10_000
    assert not Payment.objects.exists()
    assert list(LedgerTransaction.objects.filter(member_id=ani).values_list("kind", flat=True)) == ["topup"]


def test_a_merchant_payments_has_not_heard_of_is_refused_before_anything_is_charged():
    ani = funded_member(10_000)

    with pytest.raises(MerchantUnknown) as refused:
        payment_create(member_id=ani, merchant_id=str(uuid.uuid4()), amount=1)

    assert refused.value.fields == {"merchant_id": ["No merchant has this id."]}
    assert balance_of(member_id=ani) == 10_000


# --- refunds ---------------------------------------------------------------------------


def test_refunds_give_back_part_then_the_rest_and_never_more_than_was_paid():
    ani, kopi = funded_member(50_000), known_merchant()
    paid = payment(member_id=ani, merchant_id=kopi, amount=30_000)

    first = refund_issue(payment_id=str(paid.id), amount=10_000, reason="one cup was cold")
    refund_issue(payment_id=str(paid.id), amount=20_000)
    with pytest.raises(RefundExceedsPayment) as refused:
        refund_issue(payment_id=str(paid.id), amount=1)

    assert (first.amount, first.reason, first.status) == (10_000, "one cup was cold", "succeeded")
    assert refused.value.message == "At most 0 of this payment can still be refunded."
    paid.refresh_from_db()
    assert (paid.refunded_amount, paid.version) == (30_000, 3)
    assert balance_of(member_id=ani) == 50_000


def test_a_refund_larger_than_what_is_left_says_how_much_is_left_and_changes_nothing():
    ani, kopi = funded_member(50_000), known_merchant()
    paid = payment(member_id=ani, merchant_id=kopi, amount=30_000)
    refund_issue(payment_id=str(paid.id), amount=12_000)

    with pytest.raises(RefundExceedsPayment) as refused:
        refund_issue(payment_id=str(paid.id), amount=18_001)

    assert refused.value.message == "At most 18000 of this payment can still be refunded."
    assert balance_of(member_id=ani) == 32_000


def test_a_refund_of_an_unknown_payment_is_refused():
    with pytest.raises(PaymentNotFound):
        refund_issue(payment_id=str(uuid.uuid4()), amount=1)


# --- top-ups and the bank's confirmations ----------------------------------------------


def test_a_confirmed_top_up_is_paid_and_credited():
    topup = pending_topup(amount=50_000)

    confirmation = _confirm(topup, bank_transaction_id="BCA-1")

    assert (confirmation.outcome, confirmation.topup_id, confirmation.reference) == (
        BankNotification.CREDITED,
        str(topup.id),
        topup.reference,
    )
    topup.refresh_from_db()
    assert (topup.status, topup.bank_transaction_id) == (TopUp.PAID, "BCA-1")
    assert balance_of(member_id=str(topup.member_id)) == 50_000


def test_the_same_transfer_confirmed_again_gets_the_first_outcome_and_credits_once():
    topup = pending_topup(amount=50_000)

    first = _confirm(topup, bank_transaction_id="BCA-2")
    again = _confirm(topup, bank_transaction_id="BCA-2")

    assert (again.outcome, again.topup_id, again.repeat) == (first.outcome, first.topup_id, True)
    assert balance_of(member_id=str(topup.member_id)) == 50_000
    assert BankNotification.objects.count() == 1


def test_a_transfer_of_another_amount_credits_nothing_and_says_why():
    topup = pending_topup(amount=50_000)

    confirmation = _confirm(topup, amount=49_000)

    assert not confirmation.credited
    assert (confirmation.outcome, confirmation.message) == (
        BankNotification.AMOUNT_MISMATCH,
        "The top-up is for 50000, the transfer was 49000; nothing was credited.",
    )
    topup.refresh_from_db()
    assert topup.status == TopUp.PENDING
    assert balance_of(member_id=str(topup.member_id)) == 0


def test_a_second_transfer_for_a_paid_top_up_credits_nothing():
    topup = pending_topup(amount=50_000)
    _confirm(topup)

    confirmation = _confirm(topup)

    assert confirmation.outcome == BankNotification.ALREADY_PAID
    assert balance_of(member_id=str(topup.member_id)) == 50_000


def test_a_transfer_quoting_no_known_reference_is_recorded_and_credits_nothing():
    confirmation = bank_payment_confirm(
        reference="BLPNOSUCHREF", amount=10_000, bank_transaction_id="BCA-3", paid_at=timezone.now(), payload={}
    )

    assert (confirmation.outcome, confirmation.topup_id) == (BankNotification.UNKNOWN_REFERENCE, None)
    assert BankNotification.objects.get().message == "No top-up has this reference."


def test_an_expired_top_up_is_still_credited_when_the_money_arrives():
    topup = pending_topup(amount=20_000, expired=True)
    assert topups_expire() == 1

    confirmation = _confirm(topup)

    assert confirmation.credited
    assert balance_of(member_id=str(topup.member_id)) == 20_000
