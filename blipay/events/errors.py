class EventError(Exception):
    """Base of the event backbone's errors."""


class EventSchemaError(EventError, ValueError):
    """An event's data does not satisfy its type's JSON Schema; nothing was emitted."""


class UnknownEventType(EventError, LookupError):
    """No event type is registered under this routing key."""


class NotInTransaction(EventError, RuntimeError):
    """emit() was called outside transaction.atomic(): the event would not be atomic with the change."""


class BrokerUnavailable(EventError, ConnectionError):
    """The broker could not be reached, or did not confirm in time; nothing was marked sent."""
