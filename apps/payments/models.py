import uuid

from django.db import models

from blipay.money import rupiah


class MerchantReplica(models.Model):
    """What payments knows of merchants, fed by merchant.saved (event-carried state)."""

    id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class TopUp(models.Model):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    STATUSES = [(PENDING, "pending"), (PAID, "paid"), (EXPIRED, "expired")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    member_id = models.UUIDField(db_index=True)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=STATUSES, default=PENDING)
    reference = models.CharField(max_length=16, unique=True, help_text="what the member quotes in the transfer")
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    bank_transaction_id = models.CharField(max_length=64, null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"top-up {self.reference} {rupiah(self.amount)} ({self.status})"


class BankNotification(models.Model):
    """Every correctly signed confirmation the bank sent, and its outcome (the answer the
    bank got follows from it: ``payments.api.bank_answer``)."""

    CREDITED = "credited"
    UNKNOWN_REFERENCE = "unknown_reference"
    AMOUNT_MISMATCH = "amount_mismatch"
    ALREADY_PAID = "topup_already_paid"
    OUTCOMES = [
        (CREDITED, "credited"),
        (UNKNOWN_REFERENCE, "refused: unknown reference"),
        (AMOUNT_MISMATCH, "refused: amount mismatch"),
        (ALREADY_PAID, "refused: top-up already paid by another transfer"),
    ]

    bank_transaction_id = models.CharField(max_length=64, unique=True)
    reference = models.CharField(max_length=64, db_index=True)
    amount = models.BigIntegerField()
    paid_at = models.DateTimeField()
    payload = models.JSONField()
    outcome = models.CharField(max_length=20, choices=OUTCOMES)
    message = models.CharField(max_length=200, blank=True, help_text="why it was refused")
    topup_id = models.UUIDField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.bank_transaction_id}: {self.outcome}"


class Payment(models.Model):
    SUCCEEDED = "succeeded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    member_id = models.UUIDField(db_index=True)
    merchant_id = models.UUIDField(db_index=True)
    amount = models.BigIntegerField()
    refunded_amount = models.BigIntegerField(default=0)
    description = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, default=SUCCEEDED)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0, refunded_amount__lte=models.F("amount")),
                name="refunds_within_payment",
            )
        ]

    def __str__(self) -> str:
        return f"payment {rupiah(self.amount)}"


class Refund(models.Model):
    SUCCEEDED = "succeeded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, default=SUCCEEDED)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"refund {rupiah(self.amount)}"
