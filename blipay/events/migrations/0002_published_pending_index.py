from django.db import migrations


class Migration(migrations.Migration):
    """The relay claims the oldest pending rows; this partial index holds only those, so
    the claim stays one short index scan however many sent rows the table keeps."""

    dependencies = [
        ("blipay_events", "0001_initial"),
        ("django_outbox_pattern", "0006_published_published_status_27c9ec_btree"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS published_pending_added ON published (added) WHERE status = 1",
            "DROP INDEX IF EXISTS published_pending_added",
        ),
    ]
