from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """The first response to a POST with an ``Idempotency-Key``, replayed to its repeats."""

    caller = models.CharField(max_length=80)
    key = models.CharField(max_length=255, help_text="SHA-256 of the Idempotency-Key: without it, nothing sealed opens")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    sealed = models.TextField(blank=True, default="", help_text="the fields shown once, encrypted (Fernet)")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="idempotency_caller_key")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key} → {self.status_code or 'running'}"
