from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class Credential(models.Model):
    """A bearer secret, stored only as its SHA-256. Secrets are 256 random bits, so a fast
    hash is enough: there is nothing to brute-force."""

    MEMBER = "member"
    MERCHANT = "merchant"
    STAFF = "staff"
    KINDS = [(MEMBER, "member token"), (MERCHANT, "merchant API key"), (STAFF, "staff token")]

    kind = models.CharField(max_length=8, choices=KINDS)
    subject = models.CharField(max_length=64, help_text="the member, merchant or staff user it stands for")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="the secret's first characters, to recognise it")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "subject"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.prefix}… for {self.subject}"


class IdempotencyRecord(models.Model):
    """The first response to a POST with an ``Idempotency-Key``, replayed to its repeats."""

    caller = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="idempotency_caller_key")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key} → {self.status_code or 'running'}"
