"""Database helpers every module shares: for its services' hand-written statements, and one
migration operation."""

import re
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connections, migrations, models

M = TypeVar("M", bound=models.Model)

# What PostgreSQL's text and jsonb refuse: NUL, and a UTF-16 surrogate standing alone.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def create_once(model: type[M], *, key: dict[str, Any], **values: Any) -> M | None:
    """Create the ``model`` row identified by ``key`` (a unique constraint's fields), unless
    it exists; None if it did, even when a concurrent transaction created it first.

    For work done once per event or per payment: the unique constraint is what guarantees
    it. One ``INSERT … ON CONFLICT (key) DO NOTHING``: a concurrent creator's row makes it
    insert nothing, and the caller's transaction goes on (Django's ``get_or_create`` took a
    read, a savepoint, the insert and the savepoint's release, per notification sent).
    The row's primary key is made here (a UUID default), not by the database.
    """
    row = model(**key, **values)
    fields = model._meta.concrete_fields
    # What a save would store: defaults were filled in by the constructor, auto_now(_add) here.
    stored = {field.name: field.pre_save(row, add=True) for field in fields}
    if not insert_rows(model, [stored], unless_conflict_on=list(key)):
        return None
    row._state.adding, row._state.db = False, "default"  # as if loaded: a save() updates it
    return row


def db_values(model: type[models.Model], values: dict[str, Any], *, using: str = "default") -> list[Any]:
    """``values`` (field name → Python value) as the database takes them, in order: the
    conversions the ORM makes on save (a UUID's hex on SQLite, a JSON adapter, a naive UTC
    datetime on SQLite), for statements written by hand on a hot path."""
    connection = connections[using]
    meta = model._meta
    return [meta.get_field(name).get_db_prep_save(value, connection) for name, value in values.items()]


def columns(model: type[models.Model], names: Iterable[str], *, using: str = "default") -> str:
    """The quoted column names of ``model``'s fields ``names``, comma-separated."""
    quote = connections[using].ops.quote_name
    meta = model._meta
    return ", ".join(quote(meta.get_field(name).column) for name in names)


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    unless_conflict_on: Sequence[str] = (),
    using: str = "default",
) -> int:
    """One multi-row ``INSERT`` of ``rows`` (each field name → value, the same fields in each)
    into ``model``'s table: no instances, no query compiler, no defaults filled in (give
    every column without a database default). Where bulk_create's bookkeeping costs more
    than the statement (a payment writes three tables this way). ``unless_conflict_on``:
    the fields of a unique constraint; a row that would break it is skipped. Returns how
    many rows were inserted."""
    names = list(rows[0])
    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    params = [value for row in rows for value in db_values(model, row, using=using)]
    table = connections[using].ops.quote_name(model._meta.db_table)
    conflict = (
        f" ON CONFLICT ({columns(model, unless_conflict_on, using=using)}) DO NOTHING" if unless_conflict_on else ""
    )
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns(model, names, using=using)}) VALUES "
            + ", ".join([placeholders] * len(rows))
            + conflict,
            params,
        )
        return cursor.rowcount


def storable_json(value: Any) -> Any:
    """``value`` (parsed JSON kept as it came, e.g. a bank's notification) with what
    PostgreSQL refuses in text, NUL and lone surrogates, replaced by U+FFFD, in keys too:
    JSON allows them, so a request carrying them is valid, and its copy must still be kept."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable_json(key): storable_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    return value


def postgresql_only(sql: str, reverse_sql: str) -> migrations.RunPython:
    """A migration operation running ``sql`` (undone by ``reverse_sql``) on PostgreSQL and
    nothing on SQLite: for what only PostgreSQL has (a BRIN index), where the embedded
    database's small tables need nothing."""

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(reverse_sql)

    return migrations.RunPython(forward, backward)
