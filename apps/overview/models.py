"""The read side of "member + balance" (the talk's aggregator): denormalised tables kept
current by handlers of other modules' events, rebuildable with ``events replay overview``."""

from django.db import models

from blipay.money import rupiah


class MemberOverview(models.Model):
    member_id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    balance = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name or self.member_id}: {rupiah(self.balance)}"


class TransactionLine(models.Model):
    id = models.UUIDField(primary_key=True, help_text="the ledger transaction's id")
    member_id = models.UUIDField()
    kind = models.CharField(max_length=8)
    amount = models.BigIntegerField(help_text="+ credited to the member, - debited")
    balance_after = models.BigIntegerField()
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["member_id", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+,}"


class NotificationLine(models.Model):
    id = models.UUIDField(primary_key=True, help_text="the notification's id")
    member_id = models.UUIDField()
    kind = models.CharField(max_length=16)
    subject = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["member_id", "-created_at"])]

    def __str__(self) -> str:
        return self.subject
