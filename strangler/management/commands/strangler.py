import getpass
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Sum

from strangler import analysis, breaker, export, migration, traffic
from strangler.models import BreakerState, Comparison, Route, Traffic
from strangler.routes import RouteError, route_set


class Command(BaseCommand):
    help = (
        "The strangler's routes and the extraction of modules. "
        "'list': every route. "
        "'set <route> monolith|service|canary|shadow [--percent N] [--serve S] [--auto]': move a route; "
        "running processes follow within 5 seconds. "
        "'report [<route>]': traffic per side, comparisons, fallbacks, breakers. "
        "'export --format nginx|envoy': the table as a production proxy's configuration. "
        "'backfill <module>': give a fresh service the module's history, with no side effect. "
        "'handover <module> --to service|monolith': move the module's side effects. "
        "'analyse': one step of automatic canary analysis (beat runs it every few seconds). "
        "'reconcile <module>': compare the module's data on both sides; exit 1 on a difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="every route: methods, path, mode, percent, service")
        setter = sub.add_parser("set", help="change a route's mode")
        setter.add_argument("route")
        setter.add_argument("mode", choices=[m for m, _ in Route.MODES])
        setter.add_argument("--percent", type=int, help="canary: the share of callers sent to the service")
        setter.add_argument("--serve", choices=[Route.MONOLITH, Route.SERVICE], help="shadow: the side that answers")
        setter.add_argument("--auto", action="store_true", help="canary: step 10→25→50→100 while healthy")
        setter.add_argument("--reason", default="", help="why, for the audit trail")
        setter.add_argument("--actor", default="", help="who (default: the OS user)")
        report = sub.add_parser("report", help="traffic, comparisons, fallbacks and breakers per route")
        report.add_argument("route", nargs="?")
        report.add_argument("--json", action="store_true")
        exporter = sub.add_parser("export", help="the route table as nginx or Envoy configuration, on stdout")
        exporter.add_argument("--format", required=True, choices=["nginx", "envoy"])
        exporter.add_argument("--listen", default="127.0.0.1:8080", help="where the proxy listens")
        exporter.add_argument("--monolith", default="127.0.0.1:8000", help="the monolith's address")
        exporter.add_argument("--run-dir", default=str(settings.VAR_DIR / "nginx"), help="nginx: pid and temp files")
        filler = sub.add_parser("backfill", help="replay a module's history to its extracted service")
        filler.add_argument("module")
        mover = sub.add_parser("handover", help="move a module's event consumption (its side effects)")
        mover.add_argument("module")
        mover.add_argument("--to", required=True, choices=["service", "monolith"])
        sub.add_parser("analyse", help="one step of automatic canary analysis for every --auto route")
        checker = sub.add_parser("reconcile", help="compare a module's data on both sides (exit 1 on any difference)")
        checker.add_argument("module")

    def handle(self, *args, action: str, **options) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except RouteError as exc:
            raise CommandError(str(exc)) from exc

    def _list(self, **options) -> None:
        self.stdout.write(f"{'route':<16} {'methods':<10} {'path':<44} {'mode':<8} {'percent':>7}  service")
        for route in Route.objects.all():
            mode = f"{route.mode}" + (f" (serve {route.serve})" if route.mode == Route.SHADOW else "")
            mode += " auto" if route.auto else ""
            self.stdout.write(
                f"{route.name:<16} {route.methods:<10} {route.path or route.url_name:<44} {mode:<8} "
                f"{route.percent:>6}%  {route.service}"
            )

    def _set(
        self,
        *,
        route: str,
        mode: str,
        percent: int | None,
        serve: str | None,
        auto: bool,
        reason: str,
        actor: str,
        **options,
    ) -> None:
        changed = route_set(
            name=route,
            mode=mode,
            percent=percent,
            serve=serve,
            auto=auto,
            actor=actor or getpass.getuser(),
            via="command",
            reason=reason,
        )
        detail = f" {changed.percent}%" if changed.mode == Route.CANARY else ""
        detail += f" serving {changed.serve}" if changed.mode == Route.SHADOW else ""
        detail += " with automatic analysis" if changed.auto else ""
        self.stdout.write(f"{changed.name}: {changed.mode}{detail} (running processes follow within 5 s)")

    def _report(self, *, route: str | None, json: bool, **options) -> None:
        traffic.flush()  # this process's own counts, if any
        routes = Route.objects.filter(name=route) if route else Route.objects.all()
        if route and not routes:
            raise CommandError(f"no route named {route!r}")
        report = [self._route_report(r) for r in routes]
        if json:
            self.stdout.write(_json(report))
            return
        for entry in report:
            self.stdout.write(self.style.MIGRATE_HEADING(f"{entry['route']} ({entry['mode']}, {entry['percent']}%)"))
            for side, counts in entry["sides"].items():
                line = ", ".join(f"{name} {value}" for name, value in counts.items() if name != "p99_ms")
                self.stdout.write(f"  {side:<9} {line}, p99 {counts['p99_ms'] or '-'} ms")
            breakers = ", ".join(f"{upstream} {state}" for upstream, state in entry["breakers"].items())
            self.stdout.write(f"  breaker   {breakers}")
            for mismatch in entry["recent"]:
                self.stdout.write(
                    f"  {mismatch['verdict']:<9} {mismatch['at']} {mismatch['method']} {mismatch['path']}: "
                    f"{', '.join(mismatch['fields'])}"
                )

    def _route_report(self, route: Route) -> dict:
        sides = {}
        for side in (Route.MONOLITH, Route.SERVICE):
            rows = Traffic.objects.filter(route=route.name, side=side)
            sums = rows.aggregate(**{name: Sum(name) for name in traffic.COUNTERS})
            buckets: dict[str, int] = {}
            for row in rows.values_list("latency_buckets", flat=True):
                for bound, count in row.items():
                    buckets[bound] = buckets.get(bound, 0) + count
            sides[side] = {name: sums[name] or 0 for name in traffic.COUNTERS} | {"p99_ms": traffic.p99(buckets)}
        recent = Comparison.objects.filter(route=route.name)[:10]
        return {
            "route": route.name,
            "mode": route.mode,
            "percent": route.percent,
            "service": route.service,
            "sides": sides,
            "breakers": {b.upstream: b.state for b in BreakerState.objects.filter(route=route.name)}
            or {route.service: breaker.state(route.name, route.service)},
            "recent": [
                {
                    "verdict": c.verdict,
                    "at": c.at.isoformat(timespec="seconds"),
                    "method": c.method,
                    "path": c.path,
                    "fields": c.fields,
                }
                for c in recent
            ],
        }

    def _export(self, *, format: str, listen: str, monolith: str, run_dir: str, **options) -> None:
        if format == "nginx":
            Path(run_dir).mkdir(parents=True, exist_ok=True)  # nginx -t opens the pid file's folder
        self.stdout.write(export.render(format, listen=listen, monolith=monolith, run_dir=run_dir))

    def _backfill(self, *, module: str, **options) -> None:
        def progress(done: int, total: int) -> None:
            self.stderr.write(f"\r{done}/{total} events sent", ending="")

        total = migration.backfill(module, progress=progress)
        self.stderr.write("")
        self.stdout.write(f"backfilled {module}: {total} event(s) replayed, all applied by the service")

    def _handover(self, *, module: str, to: str, **options) -> None:
        marker = migration.handover(module, to=to)
        self.stdout.write(f"{module}: side effects now run by the {to} (marker {marker} taken by both sides)")

    def _reconcile(self, *, module: str, **options) -> None:
        result = migration.reconcile(module)
        for label, subjects in (
            ("only in the monolith", result.only_monolith),
            ("only in the service", result.only_service),
            ("different", result.different),
        ):
            for subject in subjects[:20]:
                self.stdout.write(f"{label}: {subject}")
            if len(subjects) > 20:
                self.stdout.write(f"{label}: … and {len(subjects) - 20} more")
        if not result.clean:
            raise CommandError(f"{module}: the two sides differ ({result.subjects} subjects compared)")
        self.stdout.write(f"{module}: clean, {result.subjects} subject(s) identical on both sides")

    def _analyse(self, **options) -> None:
        for verdict in analysis.analyse_all(actor="auto-canary"):
            self.stdout.write(verdict)


def _json(value: object) -> str:
    return json.dumps(value, indent=2, default=str)
