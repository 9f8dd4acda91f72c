"""Changing routes: the one way, used by the command, the admin and the canary analysis.
Every change is checked, audited (who, when, through what, from what to what, why) and
bumps the table's version, so every process reloads it within seconds."""

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from strangler.models import Route, RouteChange, TableVersion

AUTO_STEPS = [10, 25, 50, 100]
AUDITED = ("mode", "percent", "serve", "auto", "auto_steps", "service", "methods", "path", "url_name")


class RouteError(ValueError):
    """A route change refused; the message says why."""


def snapshot(route: Route | None) -> dict[str, Any] | None:
    return None if route is None else {name: getattr(route, name) for name in AUDITED}


def route_set(
    *,
    name: str,
    mode: str,
    actor: str,
    via: str,
    percent: int | None = None,
    serve: str | None = None,
    auto: bool = False,
    reason: str = "",
) -> Route:
    """Put route ``name`` in ``mode``; refuse what can't work (an unknown service, a
    percent out of range). ``auto`` starts automatic canary analysis at its first step."""
    if mode not in dict(Route.MODES):
        raise RouteError(f"mode must be one of {', '.join(dict(Route.MODES))}, not {mode!r}")
    with transaction.atomic():
        route = Route.objects.select_for_update().filter(name=name).first()
        if route is None:
            known = ", ".join(Route.objects.values_list("name", flat=True)) or "none"
            raise RouteError(f"no route named {name!r} (routes: {known})")
        if mode != Route.MONOLITH and route.service not in settings.BLIPAY_SERVICES:
            raise RouteError(
                f"service {route.service!r} is not in BLIPAY_SERVICES (set BLIPAY_SERVICES={route.service}=http://host:port)"
            )
        before = snapshot(route)
        route.mode = mode
        route.auto = auto and mode == Route.CANARY
        if route.auto:
            route.auto_steps = list(AUTO_STEPS)
            percent = percent if percent is not None else AUTO_STEPS[0]
        if mode == Route.CANARY:
            if percent is None or not 0 <= percent <= 100:
                raise RouteError("canary needs --percent between 0 and 100")
            route.percent = percent
        elif mode == Route.SERVICE:
            route.percent = 100
        elif mode == Route.MONOLITH:
            route.percent = 0
        if mode == Route.SHADOW:
            if serve not in (Route.MONOLITH, Route.SERVICE):
                raise RouteError("shadow needs --serve monolith|service")
            route.serve = serve
        route.step_started_at = timezone.now()
        route.save()
        _audit(route.name, before, snapshot(route), actor=actor, via=via, reason=reason)
    return route


def route_saved(route: Route, *, before: dict[str, Any] | None, actor: str, via: str, deleted: bool = False) -> None:
    """Audit and publish a change made elsewhere (the admin's form); call inside its transaction."""
    _audit(route.name, before, None if deleted else snapshot(route), actor=actor, via=via, reason="")


def _audit(name: str, before: dict | None, after: dict | None, *, actor: str, via: str, reason: str) -> None:
    RouteChange.objects.create(route=name, actor=actor, via=via, before=before, after=after, reason=reason)
    TableVersion.objects.update_or_create(pk=1, defaults={"version": uuid.uuid4().hex})


def step_started(route: Route) -> datetime:
    """When the route's current step began: its traffic is counted from then (canary analysis)."""
    return route.step_started_at or route.updated_at
