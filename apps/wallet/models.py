"""The ledger (double entry) and the member balances it keeps."""

import uuid

from django.db import models
from django.db.models import Q


class Account(models.Model):
    MEMBER = "member"
    MERCHANT = "merchant"
    SYSTEM = "system"
    KINDS = [(MEMBER, "member"), (MERCHANT, "merchant"), (SYSTEM, "system")]
    BANK = "bank"  # system account: money that came in through bank transfers
    PROMOTIONS = "promotions"  # system account: cashback paid out

    kind = models.CharField(max_length=8, choices=KINDS)
    owner = models.CharField(max_length=64, help_text="member id, merchant id, or the system account's name")
    # Kept for member accounts, under their row lock; other accounts' balances are sums of
    # their entries, so no payment ever waits on a shared merchant or system row.
    balance = models.BigIntegerField(default=0)
    version = models.PositiveIntegerField(default=0, help_text="wallet.balance_changed's sequence")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "owner"], name="account_kind_owner"),
            models.CheckConstraint(condition=~Q(kind="member") | Q(balance__gte=0), name="member_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.owner}"


class LedgerTransaction(models.Model):
    """One balance change: entries that sum to zero. Never updated or deleted."""

    TOPUP = "topup"
    PAYMENT = "payment"
    REFUND = "refund"
    CASHBACK = "cashback"
    KINDS = [(TOPUP, "top-up"), (PAYMENT, "payment"), (REFUND, "refund"), (CASHBACK, "cashback")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=KINDS)
    reference = models.CharField(max_length=64, help_text="the top-up, payment, refund or cashback it settles")
    member_id = models.UUIDField()  # indexed with created_at below: a member's ledger, newest first
    amount = models.BigIntegerField(help_text="the member's side: positive credited, negative debited")
    balance_after = models.BigIntegerField(help_text="the member's balance right after this transaction")
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "reference"], name="ledger_kind_reference_once")]
        indexes = [models.Index(fields=["member_id", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+,} for {self.member_id}"


class Entry(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField(help_text="credit to the account if positive, debit if negative")

    class Meta:
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+,}"
