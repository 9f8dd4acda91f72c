from django.db import migrations

# The hourly cleanup deletes applied deliveries past retention by applied_at, which no index
# held: a scan of the whole inbox (91 ms at 500,000 rows). Rows arrive in applied_at order, so a
# BRIN index (a few pages) finds the old ones, where a btree would cost every delivery a write.
# autosummarize: a filled block range is summarized then, not at the next vacuum.
SQL = "CREATE INDEX IF NOT EXISTS blipay_inbox_applied_at_brin ON blipay_inbox USING brin (applied_at) WITH (autosummarize = on)"
REVERSE_SQL = "DROP INDEX IF EXISTS blipay_inbox_applied_at_brin"


def _create(apps, schema_editor) -> None:  # noqa: ANN001 - Django's migration signature
    if schema_editor.connection.vendor == "postgresql":  # SQLite has no BRIN; its tables stay small
        schema_editor.execute(SQL)


def _drop(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL)


class Migration(migrations.Migration):
    dependencies = [("blipay_events", "0005_applied_event")]

    operations = [migrations.RunPython(_create, _drop)]
