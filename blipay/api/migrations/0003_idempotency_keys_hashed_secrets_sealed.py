"""Idempotency keys are kept as their SHA-256, and the fields a response shows once are
sealed with a key derived from the Idempotency-Key (blipay.api.idempotency). Keys stored
before are hashed in place, so their retries still replay."""

import hashlib

from django.db import migrations, models


def hash_keys(apps, schema_editor):
    records = apps.get_model("blipay_api", "IdempotencyRecord")
    for record in records.objects.only("pk", "key").iterator():
        records.objects.filter(pk=record.pk).update(key=hashlib.sha256(record.key.encode()).hexdigest())


class Migration(migrations.Migration):
    dependencies = [
        ("blipay_api", "0002_credential_moves_to_identity"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="sealed",
            field=models.TextField(blank=True, default="", help_text="the fields shown once, encrypted (Fernet)"),
        ),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="key",
            field=models.CharField(
                help_text="SHA-256 of the Idempotency-Key: without it, nothing sealed opens", max_length=255
            ),
        ),
        migrations.RunPython(hash_keys, migrations.RunPython.noop),
    ]
