"""Credential now belongs to blipay.identity (identity 0001): forget it here, state only,
so its table and rows stay where they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("blipay_api", "0001_initial"),
        ("identity", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Credential")],
            database_operations=[],
        ),
    ]
