"""The table of who consumes what: each module registers its handlers here, from its
``handlers.py``, and the runtime, the relay and the commands read it."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import autodiscover_modules

from blipay.events.control import ModuleHandover
from blipay.events.envelope import EventMeta
from blipay.events.registry import EventType, type_of

# A handler receives the typed payload and the envelope's metadata, and calls one service:
# ``def welcome_notify(event: MemberRegistered, meta: EventMeta) -> None``.
Handler = Callable[[Any, EventMeta], None]


@dataclass(frozen=True)
class Subscription:
    """``handler`` runs for every ``event`` (a registered payload dataclass) the module receives.

    ``replayable`` handlers only rebuild state from events (replicas, read models), so
    ``events replay`` may feed them stored events again; side effects are never replayed.
    A state event older than what the module holds is skipped, unless ``skip_stale`` is
    off: for a handler that keeps something every version carries (a history row).
    """

    event: type
    handler: Handler
    replayable: bool = False
    skip_stale: bool = True

    @property
    def event_type(self) -> EventType:
        return type_of(self.event)


_subscriptions: dict[str, tuple[Subscription, ...]] = {}


def register_handlers(module: str, subscriptions: Sequence[Subscription]) -> None:
    _subscriptions[module] = tuple(subscriptions)


def consuming_modules() -> list[str]:
    return sorted(_subscriptions)


def subscriptions_of(module: str) -> tuple[Subscription, ...]:
    try:
        return _subscriptions[module]
    except KeyError:
        known = ", ".join(consuming_modules()) or "none"
        raise LookupError(f"no handlers are registered for module {module!r} (known: {known})") from None


def routing_keys(module: str, *, replayable_only: bool = False) -> list[str]:
    """What ``module``'s queue is bound to: the types it handles and, unless only replayable
    ones are asked for, the handover marker (see blipay.events.control)."""
    keys = {s.event_type.routing_key for s in subscriptions_of(module) if s.replayable or not replayable_only}
    if not replayable_only:
        keys.add(ModuleHandover.TYPE.routing_key)
    return sorted(keys)


def autodiscover() -> None:
    """Import every installed app's ``handlers`` module, which registers its table."""
    autodiscover_modules("handlers")
