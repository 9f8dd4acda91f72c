"""Figure 6: what the strangler proxy costs a request it routes, and one it doesn't.

All on 127.0.0.1. The notifications service (``BLIPAY_SERVICE=notifications``, its own
database holding one member's 20 notifications) is served by gunicorn and loaded by wrk
at a fixed concurrency with ``GET /api/v1/members/{id}/notifications`` three ways, in
alternating rounds:

- *direct*: straight to the service, each request carrying an ``X-Blipay-Identity``
  signed by the bench just before the round (one per request: a nonce is accepted once);
- *through the strangler*: to the monolith (gunicorn, ``blipay.wsgi``), whose route
  ``notifications`` is in ``service`` mode: it looks up the member's bearer token, signs
  the identity and forwards to the same service;
- *through nginx*: ``proxy_pass`` with upstream keepalive in front of the same service,
  passing the pre-signed identities on: what a production proxy costs, for scale.

And in process: ``StranglerMiddleware`` on a path no route matches, against calling the
next handler directly.
"""

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from bench import api_server, cpu, env
from bench.api_server import WORKERS
from bench.context import Context
from bench.report import Figure, median
from blipay.identity.credentials import credential_issue
from blipay.identity.internal import Caller, sign
from strangler.middleware import StranglerMiddleware
from strangler.routes import route_set

SERVICE = "notifications"
LUA = Path(__file__).resolve().parent.parent / "proxy_load.lua"
PATH = "/api/v1/members/{id}/notifications"
NOTIFICATIONS = 20  # one full page: the service reads, serialises and paginates them
CONCURRENCY = 4
SIGNED_PER_ROUND = 30_000  # more than any round sends: each request needs an unused identity
TARGET_P50_MS = 2.0
TARGET_P99_MS = 5.0
TARGET_THROUGHPUT = 0.50
TARGET_UNROUTED_US = 200.0

DIRECT, STRANGLER, NGINX = "direct", "strangler", "nginx"


@dataclass
class Load:
    """One wrk round against one way in."""

    way: str
    seconds: float
    requests: int
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    served_by: dict[str, int]
    fallbacks: int
    latency_us: dict
    concurrency: int = CONCURRENCY
    percentiles: list[tuple[float, float]] = field(default_factory=list)  # (percent, ms)
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)  # per process, /proc accounting

    @property
    def ok(self) -> int:
        return self.statuses.get("200", 0)

    @property
    def failed(self) -> int:
        """Anything but a 200 from the service: another status, a fallback, no answer."""
        socket = sum(v for k, v in self.socket_errors.items() if k != "status")
        from_service = self.served_by.get(SERVICE, 0)
        return max(self.requests - self.ok, self.requests - from_service) + self.fallbacks + socket

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def ms(self, percent: float) -> float:
        return dict(self.percentiles)[percent]

    def summary(self) -> dict:
        return {
            "per_s": round(self.rate, 1),
            "requests": self.requests,
            "statuses": self.statuses,
            "served_by": self.served_by,
            "fallbacks": self.fallbacks,
            "socket_errors": self.socket_errors,
            **{f"p{q:g}_ms": round(self.ms(q), 3) for q in (50, 90, 99, 99.9)},
            "max_ms": round(self.latency_us["max"] / 1000, 2),
            "concurrency": self.concurrency,
            "cpu_ms_per_request": self.cpu_ms_per_request,
        }


def run(context: Context) -> list[Figure]:
    rounds = context.size(3, 1)
    round_seconds = context.duration(8.0, 3.0)
    unloaded_seconds = context.duration(5.0, 2.0)
    wrk = env.ensure_wrk()
    nginx = env.ensure_command("nginx", package="nginx")
    unrouted = _unrouted_cost(iterations=context.size(20_000, 2_000), rounds=context.size(5, 2))
    database = {**settings.DATABASES["default"], "NAME": f"{settings.DATABASES['default']['NAME']}_{SERVICE}"}
    member = str(uuid.uuid4())
    identities = env.RESULTS / "proxy-identities.txt"
    nginx_dir = env.RESULTS / "proxy-nginx"
    loads: dict[str, list[Load]] = {DIRECT: [], STRANGLER: [], NGINX: []}
    unloaded: dict[str, Load] = {}
    try:
        service_env = _prepare_service(database, member)
        service_port, monolith_port, nginx_port = env.free_port(), env.free_port(), env.free_port()
        service_url = f"http://127.0.0.1:{service_port}"
        token = _route_to(service_url, member)
        with ExitStack() as stack:
            monolith_env = {"BLIPAY_SERVICES": f"{SERVICE}={service_url}", "BLIPAY_RATE_LIMITS": "off"}
            pids = {
                "service": stack.enter_context(
                    env.child("proxy-service-gunicorn", api_server.gunicorn_argv(service_port), env=service_env)
                ).pid,
                "monolith": stack.enter_context(
                    env.child("proxy-monolith-gunicorn", api_server.gunicorn_argv(monolith_port), env=monolith_env)
                ).pid,
                "nginx": stack.enter_context(_nginx(nginx, nginx_dir, listen=nginx_port, upstream=service_port)).pid,
            }
            path = PATH.format(id=member)
            urls = {
                DIRECT: service_url,
                STRANGLER: f"http://127.0.0.1:{monolith_port}",
                NGINX: f"http://127.0.0.1:{nginx_port}",
            }
            _wait_until_serving(urls, path, member, token)

            def load(way: str, seconds: float, concurrency: int = CONCURRENCY) -> Load:
                if way != STRANGLER:
                    _sign(identities, path, member, SIGNED_PER_ROUND)
                before = cpu.snapshot(pids)
                bearer = token if way == STRANGLER else None
                result = _wrk(wrk, way, urls[way], path, identities, bearer, seconds, concurrency)
                result.cpu_ms_per_request = cpu.ms_per(before, cpu.snapshot(pids), result.requests)
                return result

            for way in loads:  # warm-up, not measured: every worker's first requests, the pools
                load(way, 2.0)
            for _ in range(rounds):
                for way, runs in loads.items():
                    runs.append(load(way, round_seconds))
            # One request at a time: the latency the proxy adds when nothing queues for a core.
            for way in (DIRECT, STRANGLER):
                unloaded[way] = load(way, unloaded_seconds, concurrency=1)
    finally:
        identities.unlink(missing_ok=True)
        shutil.rmtree(nginx_dir, ignore_errors=True)
        env.drop_database(database)
    return _figures(loads, unloaded, unrouted, round_seconds=round_seconds)


def _prepare_service(database: dict, member: str) -> dict[str, str]:
    """The service's own database, prepared as ``make run-service`` does, with the member's
    notifications in it; the environment its processes run with."""
    env.recreate_database(database)
    service_env = {
        "BLIPAY_SERVICE": SERVICE,
        "BENCH_DATABASE_NAME": database["NAME"],
        # Used nonces (and the rate limits' counters) in Redis, as a production deployment keeps them.
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "BLIPAY_RATE_LIMITS": "off",
    }
    env.RESULTS.mkdir(parents=True, exist_ok=True)
    with (env.RESULTS / "proxy-service-setup.log").open("w") as log:
        for command in (["service_prepare"], ["migrate", "--noinput", "-v0"]):
            done = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=env.ROOT,
                env=env.child_env(service_env),
                stdout=log,
                stderr=log,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"manage.py {command[0]} failed: see bench/results/proxy-service-setup.log")
    params = {"host": database["HOST"], "port": database["PORT"], "user": database["USER"]}
    with psycopg.connect(dbname=database["NAME"], password=database["PASSWORD"] or None, **params) as conn:
        conn.execute(
            """
            INSERT INTO notifications_notification
                (id, member_id, kind, channel, recipient, subject, body, source_event_id, emailed_at, created_at)
            SELECT gen_random_uuid(), %s, 'payment', 'email', 'bench@example.test', 'You paid Rp 1.000',
                   'You paid Rp 1.000 to a merchant. Thank you for using Blipay.', gen_random_uuid(),
                   now() - n * interval '1 minute', now() - n * interval '1 minute'
            FROM generate_series(1, %s) AS n
            """,
            (member, NOTIFICATIONS),
        )
    return service_env


def _route_to(service_url: str, member: str) -> str:
    """The bench database (the monolith's): the route in service mode, the member's token."""
    with override_settings(BLIPAY_SERVICES={SERVICE: service_url}):
        route_set(name=SERVICE, mode="service", actor="bench", via="command")
    return credential_issue(kind="member", subject=member)


class _nginx:  # noqa: N801 - used as a context manager, like env.child
    """nginx in the foreground with a configuration of the figure's own, ended by its pid."""

    def __init__(self, binary: str, folder: Path, *, listen: int, upstream: int) -> None:
        self.binary, self.folder, self.listen, self.upstream = binary, folder, listen, upstream
        self.stack = ExitStack()

    def __enter__(self) -> subprocess.Popen:
        shutil.rmtree(self.folder, ignore_errors=True)
        (self.folder / "temp").mkdir(parents=True)
        (self.folder / "temp").chmod(0o777)  # nginx's workers may run as nobody
        config = self.folder / "nginx.conf"
        config.write_text(NGINX_CONF.format(folder=self.folder, listen=self.listen, upstream=self.upstream))
        argv = [self.binary, "-p", str(self.folder), "-c", str(config), "-e", str(self.folder / "error.log")]
        checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30, check=False)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t refused the figure's configuration: {checked.stderr}")
        log = self.stack.enter_context((env.RESULTS / "proxy-nginx.log").open("w"))
        process = subprocess.Popen(argv, stdout=log, stderr=log)
        self.stack.callback(env.stop, process)
        return process

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


# Keepalive both ways, buffers big enough that a page never goes to a temp file, no access
# log: nginx as one would put it in front of a service, nothing it doesn't need.
NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/temp/body;
    proxy_temp_path {folder}/temp/proxy;
    fastcgi_temp_path {folder}/temp/fastcgi;
    uwsgi_temp_path {folder}/temp/uwsgi;
    scgi_temp_path {folder}/temp/scgi;
    upstream service {{
        server 127.0.0.1:{upstream};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{listen};
        keepalive_requests 100000;
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffer_size 16k;
            proxy_buffers 16 16k;
        }}
    }}
}}
"""


def _sign(identities: Path, path: str, member: str, count: int) -> None:
    """``count`` identities for ``GET path`` as the member, each with its own nonce, valid 30 s."""
    caller = Caller(kind="member", id=member)
    lines = (sign(method="GET", path=path, query="", body=b"", caller=caller) for _ in range(count))
    identities.write_text("\n".join(lines) + "\n")


def _wait_until_serving(urls: dict[str, str], path: str, member: str, token: str, *, timeout: float = 90.0) -> None:
    """Every way in answers the member's page of notifications, from the service."""
    caller = Caller(kind="member", id=member)
    deadline = time.monotonic() + timeout
    for way, url in urls.items():
        while True:
            if way == STRANGLER:
                headers = {"Authorization": f"Bearer {token}"}
            else:
                headers = {"X-Blipay-Identity": sign(method="GET", path=path, query="", body=b"", caller=caller)}
            try:
                with urllib.request.urlopen(urllib.request.Request(url + path, headers=headers), timeout=5) as answer:
                    served_by, body = answer.headers.get("X-Served-By"), json.loads(answer.read())
                if served_by == SERVICE and len(body["results"]) == NOTIFICATIONS:
                    break
                raise RuntimeError(f"{way}: served by {served_by} with {len(body['results'])} notifications")
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{way} did not answer in {timeout:.0f}s: see bench/results/proxy-*.log")
            time.sleep(0.25)


def _wrk(
    wrk: str, way: str, url: str, path: str, identities: Path, token: str | None, seconds: float, concurrency: int
) -> Load:
    argv = [
        *(wrk, "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(LUA)),
        *(url, "--", path, "-" if token else str(identities), token or "-"),
    ]
    result = env.wrk_run(argv, seconds=seconds)
    return Load(
        way=way,
        seconds=result["duration_us"] / 1e6,
        requests=result["requests"],
        statuses=result["statuses"],
        socket_errors=result["errors"],
        served_by=result["served_by"],
        fallbacks=result["fallbacks"],
        latency_us=result["latency_us"],
        concurrency=concurrency,
        percentiles=[(q, us / 1000) for q, us in result["latency_us"]["percentiles"]],
    )


def _unrouted_cost(*, iterations: int, rounds: int) -> dict:
    """µs per request of the middleware on a path no route matches (with the notifications
    route active, so the table has a pattern to try), against the next handler alone."""
    answer = HttpResponse(b"{}")

    def get_response(request: HttpRequest) -> HttpResponse:
        return answer

    headers = {
        "Authorization": "Bearer mbr_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
        "Accept": "application/json",
        "User-Agent": "bench/1",
        "X-Request-ID": "bench-unrouted",
    }
    # A path under the route's prefix (/api/v1/members/): the pattern itself is tried.
    request = RequestFactory().get(f"/api/v1/members/{uuid.uuid4()}/wallet", headers=headers)
    middleware = StranglerMiddleware(get_response)
    middleware(request)  # loads the route table
    sides: dict[str, Callable[[HttpRequest], HttpResponse]] = {"bare": get_response, "middleware": middleware}
    per_request: dict[str, list[float]] = {"bare": [], "middleware": []}
    for _ in range(rounds):
        for side, call in sides.items():
            started = time.perf_counter()
            for _ in range(iterations):
                call(request)
            per_request[side].append((time.perf_counter() - started) / iterations * 1e6)
    return {
        "iterations_per_round": iterations,
        "bare_us": [round(x, 3) for x in per_request["bare"]],
        "middleware_us": [round(x, 3) for x in per_request["middleware"]],
        "added_us": [round(m - b, 3) for m, b in zip(per_request["middleware"], per_request["bare"], strict=True)],
    }


def _figures(
    loads: dict[str, list[Load]], unloaded: dict[str, Load], unrouted: dict, *, round_seconds: float
) -> list[Figure]:
    failed = sum(run.failed for run in [*unloaded.values(), *(run for runs in loads.values() for run in runs)])
    valid = failed == 0
    invalid = [] if valid else [f"INVALID: {failed} requests not answered 200 by the service"]

    def typical(way: str, percent: float) -> float:
        return median([run.ms(percent) for run in loads[way]])

    details = {
        "service": f"gunicorn {WORKERS} sync workers, BLIPAY_SERVICE={SERVICE}, own database, nonces in Redis",
        "monolith": f"gunicorn {WORKERS} sync workers, blipay.wsgi, route {SERVICE} in service mode",
        "nginx": "1 worker, proxy_pass with upstream keepalive 16",
        "load": f"wrk -t1 -c{CONCURRENCY}, {len(loads[DIRECT])} rounds of {round_seconds:g} s per way, alternating",
        "request": f"GET {PATH} as that member, {NOTIFICATIONS} notifications in the page",
        "requests_not_from_the_service": failed,
        "valid": valid,
        **{f"{way}_runs": [run.summary() for run in runs] for way, runs in loads.items()},
        **{f"{way}_at_c1": run.summary() for way, run in unloaded.items()},
    }
    labels = {
        DIRECT: "service, called directly (pre-signed)",
        STRANGLER: "through the strangler (monolith)",
        NGINX: "through nginx (pre-signed)",
    }
    p50 = Figure(
        name="proxy_p50",
        unit="ms",
        ours=typical(STRANGLER, 50),
        anchor=typical(DIRECT, 50),
        higher_is_better=False,
        ours_label=labels[STRANGLER],
        anchor_label=labels[DIRECT],
        targets=[f"ours - anchor <= {TARGET_P50_MS:g} ms at c={CONCURRENCY}", *invalid],
        details=details,
        series={
            way: {
                "per_s": round(median([run.rate for run in runs]), 1),
                "percent": [q for q, _ in _median_round(runs).percentiles],
                "ms": [round(ms, 3) for _, ms in _median_round(runs).percentiles],
                "label": labels[way],
            }
            for way, runs in loads.items()
        },
    )
    p50.met = valid and p50.ours - p50.anchor <= TARGET_P50_MS
    p99 = Figure(
        name="proxy_p99",
        unit="ms",
        ours=typical(STRANGLER, 99),
        anchor=typical(DIRECT, 99),
        higher_is_better=False,
        ours_label=labels[STRANGLER],
        anchor_label=labels[DIRECT],
        targets=[f"ours - anchor <= {TARGET_P99_MS:g} ms at c={CONCURRENCY}", *invalid],
        details={f"{way}_p99_runs_ms": [round(run.ms(99), 3) for run in runs] for way, runs in loads.items()},
    )
    p99.met = valid and p99.ours - p99.anchor <= TARGET_P99_MS
    throughput = Figure(
        name="proxy_throughput",
        unit="requests/s",
        ours=median([run.rate for run in loads[STRANGLER]]),
        anchor=median([run.rate for run in loads[DIRECT]]),
        ours_label=labels[STRANGLER],
        anchor_label=labels[DIRECT],
        targets=[f"ratio >= {TARGET_THROUGHPUT:.2f} at c={CONCURRENCY}", *invalid],
        details={f"{way}_per_s_runs": [round(run.rate, 1) for run in runs] for way, runs in loads.items()},
    )
    throughput.met = valid and throughput.ratio is not None and throughput.ratio >= TARGET_THROUGHPUT
    nginx = Figure(
        name="proxy_nginx_p50",
        unit="ms",
        ours=typical(NGINX, 50),
        anchor=typical(DIRECT, 50),
        higher_is_better=False,
        ours_label=labels[NGINX],
        anchor_label=labels[DIRECT],
        targets=[*invalid] or ["none: printed to show what a production proxy adds"],
        details={
            "nginx_p50_runs_ms": [round(run.ms(50), 3) for run in loads[NGINX]],
            "nginx_p99_ms": round(typical(NGINX, 99), 3),
            "nginx_per_s": round(median([run.rate for run in loads[NGINX]]), 1),
        },
    )
    cost = Figure(
        name="proxy_unrouted_cost",
        unit="us",
        ours=median(unrouted["middleware_us"]),
        anchor=median(unrouted["bare_us"]),
        higher_is_better=False,
        ours_label="StranglerMiddleware, path no route matches",
        anchor_label="the next handler called directly",
        targets=[f"ours - anchor <= {TARGET_UNROUTED_US:g} us"],
        details={**unrouted, "added_us_median": round(median(unrouted["added_us"]), 3)},
    )
    cost.met = median(unrouted["added_us"]) <= TARGET_UNROUTED_US
    return [p50, p99, throughput, nginx, cost]


def _median_round(runs: list[Load]) -> Load:
    """The round whose p50 is the figure's (the plot draws its distribution)."""
    return sorted(runs, key=lambda run: run.ms(50))[len(runs) // 2]
