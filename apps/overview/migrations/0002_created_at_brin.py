from django.db import migrations

# The notifications purge deletes the overview's copies by created_at, which only the
# (member_id, created_at) index held: a scan of the whole table (70 ms at 300,000 rows).
# Lines arrive in created_at order, so a BRIN index finds the old ones without a btree's
# write per line.
SQL = "CREATE INDEX IF NOT EXISTS overview_notificationline_created_at_brin ON overview_notificationline USING brin (created_at) WITH (autosummarize = on)"
REVERSE_SQL = "DROP INDEX IF EXISTS overview_notificationline_created_at_brin"


def _create(apps, schema_editor) -> None:  # noqa: ANN001 - Django's migration signature
    if schema_editor.connection.vendor == "postgresql":  # SQLite has no BRIN; its tables stay small
        schema_editor.execute(SQL)


def _drop(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL)


class Migration(migrations.Migration):
    dependencies = [("overview", "0001_initial")]

    operations = [migrations.RunPython(_create, _drop)]
