"""The registry of event types: one entry per (type, version), append-only.

A type's name is ``<aggregate>.<what happened>`` in the past tense (``member.saved``);
its routing key on the broker is ``<name>.v<version>``. A new version is added beside the
old one, never in its place: consumers that still read v1 keep working.
"""

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from blipay.events.errors import EventSchemaError, UnknownEventType


@dataclass(frozen=True)
class EventType:
    """A published event type and the JSON Schema its ``data`` must satisfy.

    ``state`` types carry the aggregate's whole current state and its version as
    ``sequence``: applying one twice, or an older one late, changes nothing, so consumers
    skip what is older than what they hold. Other types are notices of something done once.
    """

    name: str
    version: int
    schema: dict[str, Any]
    source: str
    state: bool = True
    description: str = ""
    _validator: Draft202012Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        Draft202012Validator.check_schema(self.schema)
        object.__setattr__(self, "_validator", Draft202012Validator(self.schema))

    @property
    def aggregate(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def routing_key(self) -> str:
        return f"{self.name}.v{self.version}"

    def validate(self, data: Any) -> None:
        errors = sorted(self._validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(data)'}: {e.message}" for e in errors)
            raise EventSchemaError(f"{self.routing_key} refused: {details}")


_types: dict[str, EventType] = {}


def register(event_type: EventType) -> EventType:
    """Add a type once; registering the same routing key with another schema is an error."""
    known = _types.get(event_type.routing_key)
    if known is not None and known != event_type:
        raise ValueError(f"{event_type.routing_key} is already registered with another definition")
    _types[event_type.routing_key] = event_type
    return event_type


def event_type(routing_key: str) -> EventType:
    try:
        return _types[routing_key]
    except KeyError:
        raise UnknownEventType(routing_key) from None


def event_types() -> list[EventType]:
    return sorted(_types.values(), key=lambda t: t.routing_key)
