import uuid

from django.db import models
from django.utils import timezone


class MemberContact(models.Model):
    """What notifications knows of members, fed by member.saved (event-carried state)."""

    member_id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=200)
    email = models.EmailField()

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Notification(models.Model):
    """A message sent to a member in reaction to an event; never sent twice for one event."""

    WELCOME = "welcome"
    TOPUP = "topup"
    PAYMENT = "payment"
    REFUND = "refund"
    CASHBACK = "cashback"
    BALANCE = "balance"  # a balance change of a kind the wallet added after this module's texts
    KINDS = [
        (WELCOME, "welcome"),
        (TOPUP, "top-up"),
        (PAYMENT, "payment"),
        (REFUND, "refund"),
        (CASHBACK, "cashback"),
        (BALANCE, "balance change"),
    ]
    EMAIL = "email"
    CHANNELS = [(EMAIL, "email")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    member_id = models.UUIDField()
    kind = models.CharField(max_length=8, choices=KINDS)
    channel = models.CharField(max_length=8, choices=CHANNELS, default=EMAIL)
    recipient = models.CharField(max_length=254, blank=True, help_text="empty when the member's address is unknown")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    source_event_id = models.UUIDField(help_text="the event this notification reacts to")
    emailed_at = models.DateTimeField(null=True, blank=True, help_text="when the email was handed to the mail server")
    # Set by the side that sent it; a copy kept on the other side carries the same time.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_event_id", "kind"], name="notification_once_per_event"),
        ]
        indexes = [models.Index(fields=["member_id", "-created_at"])]

    def __str__(self) -> str:
        return self.subject
