from django.db import migrations

# The hourly purge deletes notifications past retention by created_at, which only the
# (member_id, created_at) index held: a scan of the whole table (70 ms at 300,000 rows).
# Notifications are written in created_at order, so a BRIN index (a few pages) finds the old
# ones without a btree's write per notification.
SQL = "CREATE INDEX IF NOT EXISTS notifications_notification_created_at_brin ON notifications_notification USING brin (created_at) WITH (autosummarize = on)"
REVERSE_SQL = "DROP INDEX IF EXISTS notifications_notification_created_at_brin"


def _create(apps, schema_editor) -> None:  # noqa: ANN001 - Django's migration signature
    if schema_editor.connection.vendor == "postgresql":  # SQLite has no BRIN; its tables stay small
        schema_editor.execute(SQL)


def _drop(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_created_at_set_by_sender")]

    operations = [migrations.RunPython(_create, _drop)]
