from django.db import models

from blipay.identity.principal import MEMBER, MERCHANT, STAFF


class Credential(models.Model):
    """A bearer secret, stored only as its SHA-256. Secrets are 256 random bits, so a fast
    hash is enough: there is nothing to brute-force."""

    MEMBER = MEMBER
    MERCHANT = MERCHANT
    STAFF = STAFF
    KINDS = [(MEMBER, "member token"), (MERCHANT, "merchant API key"), (STAFF, "staff token")]

    kind = models.CharField(max_length=8, choices=KINDS)
    subject = models.CharField(max_length=64, help_text="the member, merchant or staff user it stands for")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="the secret's first characters, to recognise it")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table and index keep the names they had under blipay.api: moving the model
        # here changed no row (migration identity 0001 is state-only).
        db_table = "blipay_api_credential"
        indexes = [models.Index(fields=["kind", "subject"], name="blipay_api__kind_fabe0f_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.prefix}… for {self.subject}"


class UsedNonce(models.Model):
    """A signed identity's nonce, once a service accepted it: never accepted again while the
    signature could still be valid. Rows past ``expires_at`` may be deleted."""

    nonce = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "blipay_identity_used_nonce"

    def __str__(self) -> str:
        return self.nonce
