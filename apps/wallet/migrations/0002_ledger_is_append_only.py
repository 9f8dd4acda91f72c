from django.db import migrations

IMMUTABLE = """
CREATE OR REPLACE FUNCTION wallet_ledger_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused; post a correcting transaction instead',
        TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallet_entry_append_only BEFORE UPDATE OR DELETE ON wallet_entry
    FOR EACH ROW EXECUTE FUNCTION wallet_ledger_is_append_only();
CREATE TRIGGER wallet_transaction_append_only BEFORE UPDATE OR DELETE ON wallet_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION wallet_ledger_is_append_only();
"""

MUTABLE = """
DROP TRIGGER IF EXISTS wallet_entry_append_only ON wallet_entry;
DROP TRIGGER IF EXISTS wallet_transaction_append_only ON wallet_ledgertransaction;
DROP FUNCTION IF EXISTS wallet_ledger_is_append_only();
"""


def forbid_changes(apps, schema_editor):
    # PostgreSQL refuses any UPDATE or DELETE of ledger rows. (TRUNCATE, which only an
    # operator or a test's flush runs, is not a row change.) SQLite relies on the code.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(IMMUTABLE, params=None)


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(MUTABLE, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0001_initial")]

    operations = [migrations.RunPython(forbid_changes, allow_changes)]
