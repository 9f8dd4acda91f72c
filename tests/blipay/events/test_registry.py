from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from apps.wallet.events import BalanceChanged, LedgerLine
from blipay.events.registry import EventType, event_type, name_and_version, routing_key

SCHEMA = {
    "type": "object",
    "required": ["id", "at"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "note": {"type": ["string", "null"]},
    },
}


def _type(payload: type) -> EventType:
    return EventType(name="probe.done", version=1, schema=SCHEMA, source="tests", payload=payload)


def test_a_payload_that_agrees_with_its_schema_is_accepted():
    @dataclass(frozen=True, kw_only=True)
    class Done:
        id: str
        at: datetime
        note: str | None = None

    assert _type(Done).routing_key == "probe.done.v1"


@pytest.mark.parametrize(
    "fields",
    [
        {"id": str, "at": datetime},  # a schema property with no field
        {"id": str, "at": datetime, "note": str | None, "extra": str},  # a field the schema forbids
        {"id": int, "at": datetime, "note": str | None},  # another JSON type
        {"id": str, "at": str, "note": str | None},  # a date-time that isn't a datetime
    ],
    ids=["missing", "extra", "wrong-type", "untyped-time"],
)
def test_a_payload_that_disagrees_with_its_schema_is_refused(fields):
    payload = dataclass(frozen=True, kw_only=True)(
        type("Done", (), {"__annotations__": fields} | {name: None for name in fields if name in ("note", "extra")})
    )

    with pytest.raises(TypeError):
        _type(payload)


def test_an_optional_property_needs_a_field_default():
    @dataclass(frozen=True, kw_only=True)
    class Done:
        id: str
        at: datetime
        note: str | None  # no default: an event without "note" could not be read

    with pytest.raises(TypeError, match="note"):
        _type(Done)


def test_a_payload_survives_the_wire_as_the_same_dataclass():
    line = LedgerLine(
        id="6f1c", kind="topup", amount=100_000, reference="r", description="", created_at=datetime.now(UTC)
    )
    changed = BalanceChanged(member_id="m", balance=100_000, transaction=line)
    kind = event_type("wallet.balance_changed.v1")

    data = kind.encode(changed)

    assert data["transaction"]["created_at"] == line.created_at.isoformat()
    assert kind.decode(data) == changed


def test_the_routing_key_is_the_name_and_the_version():
    assert routing_key("member.saved", 1) == "member.saved.v1"


def test_a_routing_key_reads_back_as_the_name_and_version_it_spells_and_anything_else_is_refused():
    assert name_and_version(routing_key("wallet.balance_changed", 12)) == ("wallet.balance_changed", 12)
    for not_a_key in ("wallet.balance_changed", "wallet.balance_changed.vX", ".v1", "v1"):
        with pytest.raises(ValueError, match="not a routing key"):
            name_and_version(not_a_key)
