"""Structured logs: one JSON object a line, carrying what a line belongs to.

The fields come from the context the line was written in: the HTTP request (``request_id``,
``module`` of the view), the event being handled (``event_id``, ``module`` consuming it,
``correlation_id``, ``causation_id``), and the span in progress (``trace_id``,
``span_id``). ``BLIPAY_LOG_FORMAT`` chooses ``json`` or ``text`` (settings.py). Secrets never
reach a line: values of secret-looking fields and bearer tokens or signatures inside
messages are replaced by ``[redacted]``.
"""

import json
import logging
import re
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from blipay.events.context import active_cause

_fields: ContextVar[dict[str, str] | None] = ContextVar("blipay_log_fields", default=None)

# Attributes every LogRecord has: anything else on a record came in ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_NAME = re.compile(r"authorization|token|secret|api[_-]?key|password|signature|cookie|credential", re.I)
_SECRET_TEXT = re.compile(
    r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"  # an Authorization header's value
    r"|\b((?:api[_-]?key|token|secret|password|signature|x-bank-signature)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&;}]+"
)
REDACTED = "[redacted]"


def bind(**fields: str | None) -> Token:
    """Add fields to every line written in this context from now on; ``unbind`` with the token."""
    current = _fields.get()
    merged = dict(current) if current else {}
    for name, value in fields.items():
        if value is not None:
            merged[name] = value
    return _fields.set(merged)


def unbind(token: Token) -> None:
    _fields.reset(token)


class bound:  # noqa: N801 - used like a function: ``with bound(module=…):``
    """Fields bound for the block (a class, not a generator: consumers enter one per event)."""

    __slots__ = ("_fields", "_token")

    def __init__(self, **fields: str | None) -> None:
        self._fields = fields

    def __enter__(self) -> None:
        self._token = bind(**self._fields)

    def __exit__(self, *exc: object) -> None:
        _fields.reset(self._token)


def redact(text: str) -> str:
    """``text`` with bearer tokens, API keys, signatures and the like replaced."""
    return _SECRET_TEXT.sub(lambda m: f"{m.group(1)} {REDACTED}" if m.group(1) else f"{m.group(2)}{REDACTED}", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the context's fields, any
    ``extra=`` fields, and the exception's traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        cause = active_cause()
        if cause is not None:
            line["correlation_id"] = cause.correlation_id
        line.update(_fields.get() or {})
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"], line["span_id"] = f"{span.trace_id:032x}", f"{span.span_id:016x}"
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                line[name] = REDACTED if _SECRET_NAME.search(name) else value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The human format, for a terminal: the same redaction as the JSON lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
