"""Automatic canary analysis (Flagger's idea, for an in-process proxy): a route in
``canary --auto`` moves up its steps (10 → 25 → 50 → 100 %) only while, within the current
step, the service's failure rate, its p99 latency against the monolith's and the shadow
mismatch rate stay within the route's limits. A step with fewer service requests than
``min_sample`` gets no verdict — neither promotion nor rollback on too little traffic. A
breach rolls the route back to the monolith, and the change records why."""

from django.db.models import Sum

from strangler import traffic
from strangler.models import Route, Traffic
from strangler.routes import route_set

P99_SLACK_MS = 20.0  # below this the two p99s are the same to a client


def analyse_all(*, actor: str) -> list[str]:
    traffic.flush()
    return [analyse(route, actor=actor) for route in Route.objects.filter(auto=True, mode=Route.CANARY)]


def analyse(route: Route, *, actor: str) -> str:
    window = Traffic.objects.filter(route=route.name, since=route.step_started_at)
    service = window.filter(side=Route.SERVICE).first()
    monolith = window.filter(side=Route.MONOLITH).first()
    attempts = (service.requests + service.fallbacks) if service else 0
    if attempts < route.min_sample:
        return f"{route.name}: {route.percent}% step has {attempts}/{route.min_sample} service requests; waiting"
    breaches = []
    failure_rate = (service.errors + service.fallbacks) / attempts
    if failure_rate > route.max_error_rate:
        breaches.append(f"service failure rate {failure_rate:.1%} > {route.max_error_rate:.1%}")
    service_p99 = traffic.p99(service.latency_buckets)
    monolith_p99 = traffic.p99(monolith.latency_buckets) if monolith else None
    if service_p99 is not None and monolith_p99 is not None:
        limit = monolith_p99 * route.max_p99_ratio + P99_SLACK_MS
        if service_p99 > limit:
            breaches.append(f"service p99 {service_p99:.0f} ms > {limit:.0f} ms (monolith {monolith_p99:.0f} ms)")
    compared = window.aggregate(c=Sum("compared"), m=Sum("mismatched"))
    if compared["c"] and compared["m"] / compared["c"] > route.max_mismatch_rate:
        breaches.append(f"shadow mismatch rate {compared['m'] / compared['c']:.1%} > {route.max_mismatch_rate:.1%}")
    if breaches:
        reason = "; ".join(breaches)
        route_set(name=route.name, mode=Route.MONOLITH, actor=actor, via="auto-canary", reason=f"rolled back: {reason}")
        return f"{route.name}: rolled back to the monolith at {route.percent}%: {reason}"
    following = [step for step in route.auto_steps if step > route.percent]
    reason = f"{attempts} service requests, failure rate {failure_rate:.1%}, p99 {service_p99} ms vs {monolith_p99} ms"
    if not following or following[0] >= 100:
        route_set(name=route.name, mode=Route.SERVICE, actor=actor, via="auto-canary", reason=f"promoted: {reason}")
        return f"{route.name}: promoted to the service ({reason})"
    route_set(
        name=route.name,
        mode=Route.CANARY,
        percent=following[0],
        auto=True,
        actor=actor,
        via="auto-canary",
        reason=f"step up: {reason}",
    )
    return f"{route.name}: {route.percent}% → {following[0]}% ({reason})"
