from dataclasses import dataclass

from blipay.events.registry import event


@event(
    name="sink.saved",
    version=1,
    source="eventsink",
    schema={
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 1}},
        "required": ["name"],
        "additionalProperties": False,
    },
)
@dataclass(frozen=True, kw_only=True)
class SinkSaved:
    name: str


@event(
    name="sink.pinged",
    version=1,
    source="eventsink",
    state=False,
    schema={
        "type": "object",
        "properties": {"echo": {"type": "boolean"}},
        "additionalProperties": False,
    },
)
@dataclass(frozen=True, kw_only=True)
class SinkPinged:
    echo: bool = False
