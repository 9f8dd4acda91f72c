from django.db import migrations

from blipay.db import postgresql_only


class Migration(migrations.Migration):
    """The hourly purge deletes notifications past retention by created_at, which only the
    (member_id, created_at) index held: a scan of the whole table (70 ms at 300,000 rows).
    Notifications are written in created_at order, so a BRIN index (a few pages) finds the old
    ones without a btree's write per notification."""

    dependencies = [("notifications", "0003_created_at_set_by_sender")]

    operations = [
        postgresql_only(
            "CREATE INDEX IF NOT EXISTS notifications_notification_created_at_brin ON notifications_notification USING brin (created_at) WITH (autosummarize = on)",
            "DROP INDEX IF EXISTS notifications_notification_created_at_brin",
        )
    ]
