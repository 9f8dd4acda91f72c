from blipay.events.registry import EventType, register

SinkSaved = register(
    EventType(
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
)

SinkPinged = register(
    EventType(
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
)
