"""The choreography as a picture: a sequence diagram laid out here, drawn as SVG by the
admin's template (``admin/events/choreography.html``), with no script.

Columns (lanes), left to right: the events' names, the HTTP request, each module that
emitted or consumed an event (a module's extracted service beside it), the outboxes and the
relay to the broker. Each event takes a row, in the order it was written: an arrow from its
emitter into the outbox (from the request, or down from the delivery whose handler emitted
it), then a line back out to every module that takes it, with a mark per module: applied
(and how long after it was emitted), applied after failed attempts, dead-lettered, pending.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join

from blipay.events.choreography import (
    APPLIED,
    FAILED,
    PENDING,
    Choreography,
    Consumer,
    Delivery,
    Step,
    deployment_name,
)
from blipay.events.control import MONOLITH

# Pixels (user units; the SVG scales to the page's width).
NAMES_WIDTH = 230
LANE_WIDTH = 122
RELAY_WIDTH = 170  # right of the outbox lane: what the relay did
HEADER = 62
ROW = 66
DELIVER_DROP = 28  # from an event's emit arrow down to its delivery line


# How each kind of line and mark looks, as SVG presentation attributes: the picture needs no
# stylesheet, so it reads the same saved on its own or opened in any viewer.
INK, MUTED, BLUE = "#1f2d3a", "#5b6770", "#417690"
GREEN, AMBER, RED, GREY = "#2e7d32", "#b86e00", "#c62828", "#8a96a0"
LINE_STYLE = {
    "request": {"stroke": BLUE, "stroke-width": "2"},
    "emit": {"stroke": INK, "stroke-width": "1.6"},
    "deliver": {"stroke": GREY, "stroke-width": "1.2"},
    "cause": {"stroke": BLUE, "stroke-width": "1.8", "stroke-dasharray": "2 3"},
}
MARK_STYLE = {
    "emit": {"fill": INK},
    "applied": {"fill": GREEN},
    "retried": {"fill": AMBER},
    "failed": {"fill": RED},
    "pending": {"fill": "#fff", "stroke": GREY, "stroke-width": "1.6", "stroke-dasharray": "2 2"},
    "sent": {"fill": GREEN},
    "relay-failed": {"fill": RED},
    "relay-pending": {"fill": "#fff", "stroke": GREY, "stroke-width": "1.6", "stroke-dasharray": "2 2"},
    "relay-unknown": {"fill": "#fff", "stroke": GREY, "stroke-width": "1.6", "stroke-dasharray": "2 2"},
}
LABEL_STYLE = {
    "failed": {"fill": RED, "font-weight": "700"},
    "relay-failed": {"fill": RED, "font-weight": "700"},
    "retried": {"fill": AMBER, "font-weight": "600"},
    "pending": {"fill": MUTED, "font-style": "italic"},
    "relay-pending": {"fill": MUTED, "font-style": "italic"},
}
LANE_STYLE = {
    "request": {"stroke": BLUE, "stroke-width": "2"},
    "outbox": {"stroke": MUTED, "stroke-width": "2"},
    "module": {"stroke": "#c8ced3", "stroke-width": "1", "stroke-dasharray": "3 4"},
    "service": {"stroke": "#b48ccc", "stroke-width": "1", "stroke-dasharray": "3 4"},
}


def _attributes(style: dict[str, str]) -> str:
    return format_html_join(" ", '{}="{}"', style.items())


@dataclass(frozen=True)
class Lane:
    x: int
    title: str
    subtitle: str
    kind: str  # request, module, service, outbox

    @property
    def style(self) -> str:
        return _attributes(LANE_STYLE[self.kind])


@dataclass(frozen=True)
class Line:
    x1: int
    y1: int
    x2: int
    y2: int
    kind: str  # request, emit, deliver, cause
    title: str = ""

    @property
    def style(self) -> str:
        return _attributes(LINE_STYLE[self.kind])


@dataclass(frozen=True)
class Mark:
    x: int
    y: int
    kind: str  # applied, retried, failed, pending, emit, sent, relay-pending, relay-failed, relay-unknown
    label: str
    title: str

    @property
    def style(self) -> str:
        return _attributes(MARK_STYLE[self.kind])

    @property
    def label_style(self) -> str:
        return _attributes({"fill": INK, **LABEL_STYLE.get(self.kind, {})})

    @property
    def is_relay(self) -> bool:
        return self.kind in ("sent", "relay-pending", "relay-failed", "relay-unknown")


@dataclass(frozen=True)
class Name:
    y: int
    type: str
    detail: str
    title: str


@dataclass
class Diagram:
    width: int
    height: int
    lanes: list[Lane] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    names: list[Name] = field(default_factory=list)

    row: int = ROW

    @property
    def lanes_bottom(self) -> int:
        return self.height - 8


def draw(picture: Choreography) -> Diagram:
    consumers = picture.consumers
    width = NAMES_WIDTH + LANE_WIDTH * (len(consumers) + 2) + RELAY_WIDTH
    diagram = Diagram(width=width, height=HEADER + ROW * max(len(picture.steps), 1) + 16)

    def lane_x(index: int) -> int:
        return NAMES_WIDTH + LANE_WIDTH * index + LANE_WIDTH // 2

    request_x, outbox_x = lane_x(0), lane_x(len(consumers) + 1)
    x_of = {consumer: lane_x(index + 1) for index, consumer in enumerate(consumers)}
    # Usually an HTTP request (its X-Request-ID); a command starts a chain of its own too.
    diagram.lanes.append(Lane(request_x, "request", _short(picture.correlation_id, 18), "request"))
    for consumer, x in x_of.items():
        if consumer.deployment == MONOLITH:
            diagram.lanes.append(Lane(x, consumer.module, "monolith", "module"))
        else:
            diagram.lanes.append(Lane(x, consumer.module, f"@ {consumer.deployment} service", "service"))
    diagram.lanes.append(Lane(outbox_x, "outbox", "relay → broker", "outbox"))

    deliver_y: dict[tuple[str, Consumer], int] = {}
    for row, step in enumerate(picture.steps):
        y = HEADER + 24 + ROW * row
        emitter_x = x_of.get(step.emitter, request_x)
        diagram.names.append(Name(y, f"{step.type} v{step.version}", _name_detail(step), _step_title(step)))
        if step.root:
            caused = f"the request made {step.emitter.module} emit {step.type}"
            diagram.lines.append(Line(request_x, y, emitter_x, y, "request", caused))
        elif step.parent is not None and (step.parent.id, step.emitter) in deliver_y:
            diagram.lines.append(
                Line(
                    emitter_x,
                    deliver_y[step.parent.id, step.emitter],
                    emitter_x,
                    y,
                    "cause",
                    f"the {step.emitter.module} handler of {step.parent.type} emitted {step.type}",
                )
            )
        diagram.marks.append(Mark(emitter_x, y, "emit", "", f"{step.emitter.name} emitted {step.routing_key}"))
        diagram.lines.append(Line(emitter_x, y, outbox_x - 7, y, "emit", _step_title(step)))
        diagram.marks.append(Mark(outbox_x, y, *_relay(step)))

        if not step.deliveries:
            continue
        dy = y + DELIVER_DROP
        leftmost = min(x_of[delivery.consumer] for delivery in step.deliveries)
        diagram.lines.append(Line(outbox_x, dy, leftmost, dy, "deliver", f"{step.routing_key} to its consumers"))
        for delivery in step.deliveries:
            x = x_of[delivery.consumer]
            deliver_y[step.id, delivery.consumer] = dy
            diagram.marks.append(Mark(x, dy, *_delivery(step, delivery)))
    return diagram


@dataclass(frozen=True)
class Fact:
    """A row of the table under the picture: one event and one of its deliveries."""

    step: Step
    delivery: Delivery | None
    number: int
    first: bool
    span: int

    @property
    def status(self) -> str:
        return self.delivery.status if self.delivery else "none"

    @property
    def caused_by(self) -> str:
        if self.step.root:
            return "the request"
        return self.step.parent.routing_key if self.step.parent else f"event {self.step.causation_id}"

    @property
    def emitted_at(self) -> str:
        return _time(self.step.emitted_at)

    @property
    def relay(self) -> str:
        return _relay(self.step)[1]

    @property
    def outcome(self) -> str:
        if self.delivery is None:
            return ""
        if self.delivery.retried:
            return "applied after failed attempts"
        return self.delivery.status

    @property
    def outcome_class(self) -> str:
        if self.delivery is None:
            return ""
        return {APPLIED: "retried" if self.delivery.retried else "", FAILED: "failed"}.get(
            self.delivery.status, "pending"
        )

    @property
    def at(self) -> str:
        return _time(self.delivery.at) if self.delivery else ""

    @property
    def latency(self) -> str:
        return _duration(self.delivery.latency) if self.delivery and self.delivery.latency is not None else ""

    @property
    def outbox_url(self) -> str:
        """The event's row in this deployment's outbox admin ("" when another deployment's outbox has it)."""
        if self.step.origin != settings.BLIPAY_DEPLOYMENT:
            return ""
        return reverse("admin:django_outbox_pattern_published_change", args=[self.step.id])


def summary(picture: Choreography) -> str:
    """One sentence: how many events, what became of their deliveries, how long it all took."""
    deliveries = [delivery for step in picture.steps for delivery in step.deliveries]
    retried = sum(1 for delivery in deliveries if delivery.retried)
    counts = {status: sum(1 for d in deliveries if d.status == status) for status in (APPLIED, FAILED, PENDING)}
    modules = {delivery.consumer for delivery in deliveries}
    ends = [delivery.at for delivery in deliveries if delivery.at] + [step.emitted_at for step in picture.steps]
    took = _duration(max(ends) - picture.steps[0].emitted_at) if picture.steps else "-"
    return (
        f"{len(picture.steps)} event{'s' if len(picture.steps) != 1 else ''}, {len(deliveries)} deliveries to "
        f"{len(modules)} module lane{'s' if len(modules) != 1 else ''}: {counts[APPLIED]} applied "
        f"({retried} after failed attempts), {counts[FAILED]} dead-lettered, {counts[PENDING]} pending; "
        f"{took} from the first event to the last thing that happened to one."
    )


def facts(picture: Choreography) -> list[Fact]:
    rows = []
    for number, step in enumerate(picture.steps, start=1):
        deliveries: list[Delivery | None] = list(step.deliveries) or [None]
        rows += [
            Fact(step, delivery, number, first=index == 0, span=len(deliveries))
            for index, delivery in enumerate(deliveries)
        ]
    return rows


def _relay(step: Step) -> tuple[str, str, str]:
    attempts = f"{step.relay_attempts} attempt{'s' if step.relay_attempts != 1 else ''}"
    if step.relay_status == "sent":
        return "sent", f"relayed ({attempts})", f"{step.routing_key} relayed to the broker after {attempts}"
    if step.relay_status == "failed":
        return (
            "relay-failed",
            f"RELAY FAILED ({attempts})",
            f"the broker refused {step.routing_key} {attempts}: failed for good until retried from the outbox list",
        )
    if step.relay_status == "pending":
        return "relay-pending", "waiting for the relay", f"{step.routing_key} is in the outbox, not relayed yet"
    where = deployment_name(step.origin)
    return "relay-unknown", f"in {where}'s outbox", f"emitted in {where}: its outbox is in its own database"


def _delivery(step: Step, delivery: Delivery) -> tuple[str, str, str]:
    who = delivery.consumer.name
    if delivery.status == FAILED:
        return (
            "failed",
            f"dead letter · {delivery.attempts} tries",
            f"{who}: {step.routing_key} dead-lettered after {delivery.attempts} attempts at {_time(delivery.at)}: "
            f"{delivery.error}",
        )
    if delivery.status == APPLIED and delivery.retried:
        return (
            "retried",
            f"applied after {delivery.attempts} failed",
            f"{who}: {step.routing_key} applied after {delivery.attempts} failed attempts "
            f"(retried; the first failure: {delivery.error})",
        )
    if delivery.status == APPLIED:
        took = _duration(delivery.latency)
        return "applied", f"+{took}", f"{who}: {step.routing_key} applied at {_time(delivery.at)}, {took} after emitted"
    return "pending", "pending", f"{who} has not applied {step.routing_key} yet"


def _name_detail(step: Step) -> str:
    return f"{_time(step.emitted_at)} · {step.subject[:8]} #{step.sequence}"


def _step_title(step: Step) -> str:
    caused = "the request" if step.root else (step.parent.routing_key if step.parent else step.causation_id)
    return (
        f"{step.routing_key} id {step.id}, about {step.subject} (#{step.sequence}), emitted by "
        f"{step.emitter.name} at {_time(step.emitted_at)}, caused by {caused}"
    )


def _time(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%H:%M:%S.%f")[:-3] if value else "-"


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "?"
    ms = value.total_seconds() * 1000
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def _short(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
