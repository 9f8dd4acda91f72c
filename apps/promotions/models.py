import uuid

from django.db import models
from django.db.models import F, Q

from blipay.money import rupiah


class MerchantReplica(models.Model):
    """What promotions knows of merchants, fed by merchant.saved (event-carried state)."""

    id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Promotion(models.Model):
    """Cashback at one merchant: ``percent`` of each payment made in [starts_at, ends_at),
    at most ``max_amount`` rupiah per payment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant_id = models.UUIDField()
    percent = models.PositiveSmallIntegerField()
    max_amount = models.BigIntegerField(help_text="the most cashback one payment earns, in rupiah")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="exclusive: a payment at this instant earns nothing")
    version = models.PositiveIntegerField(default=1, help_text="promotion.saved's sequence")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(percent__gte=1, percent__lte=100), name="promotion_percent_1_to_100"),
            models.CheckConstraint(condition=Q(max_amount__gte=1), name="promotion_max_amount_positive"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="promotion_ends_after_it_starts"),
        ]
        indexes = [models.Index(fields=["merchant_id", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.percent}% cashback up to {rupiah(self.max_amount)}"


class CashbackGrant(models.Model):
    """Cashback a payment earned; one per payment at most. The wallet credits it once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="grants")
    payment_id = models.UUIDField(unique=True, help_text="one grant per payment, ever")
    member_id = models.UUIDField(db_index=True)
    merchant_id = models.UUIDField()
    payment_amount = models.BigIntegerField()
    amount = models.BigIntegerField(help_text="the cashback, in rupiah")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gte=1), name="cashback_amount_positive")]

    def __str__(self) -> str:
        return f"cashback {rupiah(self.amount)}"
