"""The registry of event types: one entry per (type, version), append-only.

A type's name is ``<aggregate>.<what happened>`` in the past tense (``member.saved``);
its routing key on the broker is ``<name>.v<version>``. A new version is added beside the
old one, never in its place: consumers that still read v1 keep working.

Each type is a frozen dataclass (what emitters build and handlers receive) declared with
``@event(...)`` next to its JSON Schema (the contract on the wire). Registering checks
that the two agree, field by field, so neither can drift from the other.
"""

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from jsonschema import Draft202012Validator

from blipay.events.errors import EventSchemaError, UnknownEventType

P = TypeVar("P")


def routing_key(name: str, version: int) -> str:
    """The broker's routing key of a type: the one place it is spelled."""
    return f"{name}.v{version}"


def name_and_version(key: str) -> tuple[str, int]:
    """What ``routing_key`` spelled, read back: for a stored key whose type this code may
    no longer register (a version retired since). ValueError if it spells no type."""
    name, _, version = key.rpartition(".v")
    if not name or not version.isdigit():
        raise ValueError(f"{key!r} is not a routing key (<name>.v<version>)")
    return name, int(version)


@dataclass(frozen=True)
class EventType:
    """A published event type, its payload dataclass, and the JSON Schema its ``data`` must satisfy.

    ``state`` types carry the aggregate's whole current state and its version as
    ``sequence``: applying one twice, or an older one late, changes nothing, so consumers
    skip what is older than what they hold. Other types are notices of something done once.
    """

    name: str
    version: int
    schema: dict[str, Any]
    source: str
    # Not compared: a module imported again (a reload) makes an equal type with a new class.
    payload: type = field(compare=False)
    state: bool = True
    description: str = ""
    _validator: Draft202012Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        Draft202012Validator.check_schema(self.schema)
        _check_agrees(self.payload, self.schema, self.routing_key)
        object.__setattr__(self, "_validator", Draft202012Validator(self.schema))

    @property
    def aggregate(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def routing_key(self) -> str:
        return routing_key(self.name, self.version)

    def validate(self, data: Any) -> None:
        errors = sorted(self._validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(data)'}: {e.message}" for e in errors)
            raise EventSchemaError(f"{self.routing_key} refused: {details}")

    def encode(self, payload: Any) -> dict[str, Any]:
        """The payload as the JSON object ``data`` carries (datetimes in ISO 8601)."""
        if type(payload) is not self.payload:
            raise TypeError(f"{self.routing_key} carries {self.payload.__name__}, not {type(payload).__name__}")
        return _encode(payload)

    def decode(self, data: dict[str, Any]) -> Any:
        """The payload dataclass of a received ``data`` object."""
        return _decode(self.payload, data)


_types: dict[str, EventType] = {}


def register(event_type: EventType) -> EventType:
    """Add a type once; registering the same routing key with another schema is an error."""
    known = _types.get(event_type.routing_key)
    if known is not None and known != event_type:
        raise ValueError(f"{event_type.routing_key} is already registered with another definition")
    _types[event_type.routing_key] = event_type
    return event_type


def event(
    *, name: str, version: int, source: str, schema: dict[str, Any], state: bool = True, description: str = ""
) -> Callable[[type[P]], type[P]]:
    """Register the decorated frozen dataclass as the payload of ``<name>`` v``version``."""

    def register_payload(payload: type[P]) -> type[P]:
        if not (dataclasses.is_dataclass(payload) and payload.__dataclass_params__.frozen):
            raise TypeError(f"{payload.__name__}: an event payload is a frozen dataclass")
        payload.TYPE = register(  # type: ignore[attr-defined]
            EventType(
                name=name,
                version=version,
                schema=schema,
                source=source,
                payload=payload,
                state=state,
                description=description,
            )
        )
        return payload

    return register_payload


def type_of(payload: Any) -> EventType:
    """The registered type whose payload ``payload`` (an instance or its class) is."""
    kind = getattr(payload, "TYPE", None)
    if not isinstance(kind, EventType):
        raise UnknownEventType(getattr(payload, "__name__", type(payload).__name__))
    return kind


def event_type(routing_key: str) -> EventType:
    try:
        return _types[routing_key]
    except KeyError:
        raise UnknownEventType(routing_key) from None


def event_types() -> list[EventType]:
    return sorted(_types.values(), key=lambda t: t.routing_key)


# --- payload <-> data -------------------------------------------------------------------


@functools.cache
def _hints(payload: type) -> dict[str, Any]:
    return typing.get_type_hints(payload)


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decode(payload: type, data: dict[str, Any]) -> Any:
    hints = _hints(payload)
    return payload(**{name: _decode_value(hints[name], value) for name, value in data.items()})


def _decode_value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    for option in _options(hint):
        if option is datetime:
            return datetime.fromisoformat(value)
        if dataclasses.is_dataclass(option):
            return _decode(option, value)
    return value


def _options(hint: Any) -> tuple[Any, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


# --- the dataclass and the schema agree -------------------------------------------------

_JSON_TYPES = {str: "string", int: "integer", bool: "boolean", float: "number", type(None): "null"}


def _check_agrees(payload: type, schema: dict[str, Any], where: str) -> None:
    """Raise TypeError unless ``payload``'s fields are exactly ``schema``'s properties, every
    required property is a field, every optional one a field with a default, of the same types."""
    if not dataclasses.is_dataclass(payload):
        raise TypeError(f"{where}: the payload must be a dataclass")
    fields = {f.name: f for f in dataclasses.fields(payload)}
    properties = schema.get("properties", {})
    if set(fields) != set(properties):
        raise TypeError(f"{where}: fields {sorted(fields)} != schema properties {sorted(properties)}")
    required = set(schema.get("required", []))
    hints = _hints(payload)
    for name, f in fields.items():
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        if name not in required and not has_default:
            raise TypeError(f"{where}: {name} is optional in the schema, so its field needs a default")
        _check_type(hints[name], properties[name], f"{where}: {name}")


def _check_type(hint: Any, prop: dict[str, Any], where: str) -> None:
    expected: set[str] = set()
    for option in _options(hint):
        if dataclasses.is_dataclass(option):
            _check_agrees(option, prop, where)
            expected.add("object")
        elif option is datetime:
            if not _has_format(prop, "date-time"):
                raise TypeError(f"{where}: a datetime field needs format date-time in the schema")
            expected.add("string")
        elif option in _JSON_TYPES:
            expected.add(_JSON_TYPES[option])
        else:
            raise TypeError(f"{where}: {option!r} has no JSON type")
    if _has_format(prop, "date-time") and datetime not in _options(hint):
        raise TypeError(f"{where}: a date-time in the schema is a datetime field")
    if expected != _json_types(prop):
        raise TypeError(f"{where}: the field is {sorted(expected)}, the schema {sorted(_json_types(prop))}")


def _json_types(prop: dict[str, Any]) -> set[str]:
    if "anyOf" in prop:
        return set().union(*(_json_types(option) for option in prop["anyOf"]))
    if "type" in prop:
        return {prop["type"]} if isinstance(prop["type"], str) else set(prop["type"])
    values = prop["enum"] if "enum" in prop else [prop["const"]] if "const" in prop else []
    return {_JSON_TYPES[type(value)] for value in values}


def _has_format(prop: dict[str, Any], name: str) -> bool:
    return prop.get("format") == name or any(_has_format(option, name) for option in prop.get("anyOf", []))
