"""The envelope every event travels in (CloudEvents-like), as stored in the outbox and sent."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Envelope:
    id: str
    type: str
    version: int
    source: str
    subject: str
    sequence: int
    time: str
    correlation_id: str
    causation_id: str | None
    traceparent: str
    data: dict[str, Any]

    @property
    def routing_key(self) -> str:
        return f"{self.type}.v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> "Envelope":
        return cls(
            id=str(body["id"]),
            type=body["type"],
            version=int(body["version"]),
            source=body["source"],
            subject=str(body["subject"]),
            sequence=int(body["sequence"]),
            time=body["time"],
            correlation_id=body["correlation_id"],
            causation_id=body.get("causation_id"),
            traceparent=body.get("traceparent", ""),
            data=body["data"],
        )
