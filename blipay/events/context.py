"""What caused the events being emitted now: an HTTP request or an event being handled.

``correlation_id`` is shared by everything one request set off; ``causation_id`` is the id
of the event whose handler emitted this one; ``traceparent`` is W3C trace context, so the
chain can also be followed in a tracing system.
"""

import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# What a correlation id may be: the request-id middleware replaces an X-Request-ID that
# isn't this (it is logged and put in headers), so no event carries anything else.
CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class Cause:
    correlation_id: str
    causation_id: str | None
    trace_id: str
    trace_flags: str = "01"

    def child_traceparent(self) -> str:
        """A traceparent for one new span (an emitted event) in this trace."""
        return f"00-{self.trace_id}-{secrets.token_hex(8)}-{self.trace_flags}"


_current: ContextVar[Cause | None] = ContextVar("blipay_event_cause", default=None)


def _trace_of(traceparent: str | None) -> tuple[str, str]:
    match = _TRACEPARENT.match(traceparent or "")
    if match and match.group(1) != "0" * 32:
        return match.group(1), match.group(3)
    return secrets.token_hex(16), "01"


def active_cause() -> Cause | None:
    """The cause in force, if a request or a handler set one (logs read it)."""
    return _current.get()


def current_cause() -> Cause:
    """The cause in force, or a fresh one (a command or shell starts its own chain)."""
    cause = _current.get()
    if cause is None:
        trace_id, flags = _trace_of(None)
        cause = Cause(correlation_id=str(uuid.uuid4()), causation_id=None, trace_id=trace_id, trace_flags=flags)
    return cause


@contextmanager
def caused_by(*, correlation_id: str, causation_id: str | None, traceparent: str | None) -> Iterator[Cause]:
    """Events emitted inside this block belong to ``correlation_id`` and follow ``causation_id``."""
    trace_id, flags = _trace_of(traceparent)
    cause = Cause(correlation_id=correlation_id, causation_id=causation_id, trace_id=trace_id, trace_flags=flags)
    token = _current.set(cause)
    try:
        yield cause
    finally:
        _current.reset(token)
