"""Figure 5: payments/s and p99 latency of ``POST /api/v1/payments`` under a steady load,
vs a bare DRF endpoint doing one INSERT on the same stack (the framework's ceiling).

The production setup, all on 127.0.0.1: gunicorn serving ``blipay.wsgi`` (4 sync workers)
on the bench's PostgreSQL database, ``BLIPAY_RATE_LIMITS=off``, and a Celery worker taking
the relay kicks every payment's commit queues (prefork, two processes, as ``manage.py
serve`` starts it), on a RabbitMQ vhost of the figure's own (dropped afterwards). The load
generator is wrk at a fixed concurrency: each request pays as one of 1,000 funded members
chosen at random. Ours and the anchor alternate in rounds; after each round of ours the
bench waits for the relay to send every event before the next round starts, so one
figure's backlog never weighs on the other's.

A second anchor, ``api_payments_vs_sql``: pgbench replaying the SQL one payment runs
(``bench/payment_sql.py`` generates the script from a real payment of this run), at as
many clients as gunicorn has workers: PostgreSQL's own ceiling for our transaction on
this machine.
"""

import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published
from kombu import Connection

from bench import api_server, cpu, env, events, payment_sql, relays
from bench.api_server import AMOUNT, WORKERS
from bench.context import Context
from bench.report import Figure, median
from bench.server_urls import CREATE_TABLE, TABLE

VHOST = f"{settings.DATABASES['default']['NAME']}_api"  # blipay_bench_api unless BENCH_DATABASE_NAME is set
OURS_PATH = "/api/v1/payments"
ANCHOR_PATH = api_server.BARE_PATH
LUA = Path(__file__).resolve().parent.parent / "api_load.lua"
CONCURRENCY = 8  # wrk connections: 2 per worker, so a worker never waits for the next request
TARGET_RATIO = 0.40
TARGET_P99_MS = 50.0
SQL_CLIENTS = WORKERS  # pgbench clients: as many database sessions as the server has
CATCH_UP_TIMEOUT = 120.0


@dataclass
class Load:
    """One wrk run against one path."""

    path: str
    seconds: float
    requests: int
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    latency_us: dict
    relay_caught_up_after_s: float | None = None
    percentiles: list[tuple[float, float]] = field(default_factory=list)  # (percent, ms)
    ok: str = "201"  # the status every response should have: 200 for a read
    # Per process, from the round's start until the relay caught up (bench.cpu).
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)

    @property
    def created(self) -> int:
        return self.statuses.get(self.ok, 0)

    @property
    def failed(self) -> int:
        """Responses other than the expected one, plus requests that got no response at all."""
        socket = sum(v for k, v in self.socket_errors.items() if k != "status")
        return self.requests - self.created + socket

    @property
    def rate(self) -> float:
        return self.created / self.seconds

    def ms(self, percent: float) -> float:
        return dict(self.percentiles)[percent]

    def summary(self) -> dict:
        return {
            "per_s": round(self.rate, 1),
            "requests": self.requests,
            "statuses": self.statuses,
            "socket_errors": self.socket_errors,
            **{f"p{q:g}_ms": round(self.ms(q), 2) for q in (50, 90, 99, 99.9)},
            "max_ms": round(self.latency_us["max"] / 1000, 2),
            "relay_caught_up_after_s": self.relay_caught_up_after_s,
            "cpu_ms_per_request": self.cpu_ms_per_request,
        }


def run(context: Context) -> list[Figure]:
    members = context.size(1_000, 100)
    round_seconds = context.duration(10.0, 3.0)
    rounds = context.size(3, 1)
    wrk = env.ensure_wrk()
    _bare_table()
    broker_url = env.vhost_create(VHOST)
    actors = env.RESULTS / "api-actors.txt"
    try:
        overrides = {"BROKER_URL": broker_url}
        setup_seconds = api_server.setup_actors(members, actors, overrides)
        with (
            relays.celery_worker(name="api-celery-worker", overrides=overrides) as relay,
            api_server.serving("api-gunicorn", actors, overrides) as server,
        ):
            load = Loader(wrk, server.url, actors, broker_url, processes={"gunicorn": server.pid, "relay": relay.pid})
            # Warm-up, not measured: every worker's first requests, and proof that the relay runs.
            load(OURS_PATH, 3.0, catch_up=True)
            load(ANCHOR_PATH, 3.0)
            ours, anchor = [], []
            for _ in range(rounds):
                ours.append(load(OURS_PATH, round_seconds, catch_up=True))
                anchor.append(load(ANCHOR_PATH, round_seconds))
            keyed = load(OURS_PATH, round_seconds, catch_up=True, idempotency_keys=True)
        # After every round of ours: what pgbench leaves in the outbox is never relayed.
        sql = _sql_ceiling(actors, rounds=rounds, seconds=round_seconds)
    finally:
        env.vhost_delete(VHOST)
        actors.unlink(missing_ok=True)
    figures = _figures(ours, anchor, keyed, members=members, setup_seconds=setup_seconds, round_seconds=round_seconds)
    return [*figures, _vs_sql(ours, sql)]


@dataclass
class SqlRun:
    """pgbench rounds of the payment's SQL (the script is kept in the JSON)."""

    tps: list[float]
    script: str
    statements: int


def _sql_ceiling(actors: Path, *, rounds: int, seconds: float) -> SqlRun:
    pgbench = env.ensure_pgbench()
    lines = api_server.actor_lines(actors)
    who = [payment_sql.actor_of(token, merchant) for token, merchant in lines]
    payment_sql.write_actors(who)
    # The caller to capture with: one the load used (its merchant's account is open, as for
    # every payment but a merchant's first), whose account id is no other parameter's value.
    body = {"merchant_id": lines[-1][1], "amount": AMOUNT, "description": "bench"}
    statements = payment_sql.capture(lines[-1][0], body)
    script = payment_sql.script(statements, who[-1], members=len(who))
    path = env.RESULTS / "payment.pgbench"
    path.write_text(script)
    db = settings.DATABASES["default"]
    argv = [
        *(pgbench, "-h", db["HOST"], "-p", str(db["PORT"] or 5432), "-U", db["USER"], "-n", "-M", "simple"),
        *("-c", str(SQL_CLIENTS), "-j", "2", "-T", f"{seconds:.0f}", "-f", str(path), db["NAME"]),
    ]
    child_env = env.child_env({"PGPASSWORD": db["PASSWORD"]} if db["PASSWORD"] else {})
    tps = []
    try:
        for _ in range(rounds):
            done = subprocess.run(argv, capture_output=True, text=True, env=child_env, timeout=seconds + 60)
            found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
            failed = re.search(r"number of failed transactions: ([1-9][0-9]*)", done.stdout)
            if done.returncode != 0 or found is None or failed:
                output = done.stderr[-500:] or done.stdout[-500:]
                raise RuntimeError(f"pgbench failed (exit {done.returncode}): {output}")
            tps.append(float(found.group(1)))
    finally:
        # Its events (a constant body per script) must never reach a broker: every event of
        # ours was relayed before it ran, so what is pending now is pgbench's.
        Published.objects.filter(status=StatusChoice.SCHEDULE).delete()
    return SqlRun(tps=tps, script=script, statements=len(statements))


def _vs_sql(ours: list[Load], sql: SqlRun) -> Figure:
    return Figure(
        name="api_payments_vs_sql",
        unit="requests/s",
        ours=median([run.rate for run in ours]),
        anchor=median(sql.tps),
        ours_label="POST /api/v1/payments",
        anchor_label=f"pgbench, the payment's SQL, {SQL_CLIENTS} clients",
        targets=["no target: PostgreSQL's own ceiling for a payment's statements"],
        details={
            "anchor_runs_tps": sql.tps,
            "clients": SQL_CLIENTS,
            "statements_per_payment": sql.statements,
            "script": sql.script,
        },
    )


def _bare_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE)
        cursor.execute(f"TRUNCATE {TABLE}")


class Loader:
    """wrk with ``bench/api_load.lua`` at ``concurrency`` connections against the server at
    ``url``; each round also says what a request cost ``processes`` (name: the root pid of a
    process tree), PostgreSQL, RabbitMQ and the machine."""

    def __init__(
        self,
        wrk: str,
        url: str,
        actors: Path,
        broker_url: str,
        *,
        processes: Mapping[str, int],
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.wrk, self.url, self.actors, self.broker_url = wrk, url, actors, broker_url
        self.processes, self.concurrency = processes, concurrency

    def __call__(
        self,
        path: str,
        seconds: float,
        *,
        catch_up: bool = False,
        idempotency_keys: bool = False,
        pages: Path | None = None,
    ) -> Load:
        """POST ``path`` as the actors; with ``pages`` (``<token> <member id>`` lines), GET
        ``path`` with its ``{id}`` the member's own, as that member."""
        argv = [
            *(self.wrk, "-t1", f"-c{self.concurrency}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(LUA)),
            *(self.url, "--", path, str(pages or self.actors), "1" if idempotency_keys else "0"),
            *(["read"] if pages else []),
        ]
        before = cpu.snapshot(self.processes)
        result = env.wrk_run(argv, seconds=seconds)
        load = Load(
            path=path,
            seconds=result["duration_us"] / 1e6,
            requests=result["requests"],
            statuses=result["statuses"],
            socket_errors=result["errors"],
            latency_us=result["latency_us"],
            percentiles=[(q, us / 1000) for q, us in result["latency_us"]["percentiles"]],
            ok="200" if pages else "201",
        )
        if catch_up:
            load.relay_caught_up_after_s = self._relay_caught_up()
        load.cpu_ms_per_request = cpu.ms_per(before, cpu.snapshot(self.processes), load.requests)
        return load

    def _relay_caught_up(self) -> float:
        """Seconds until every event is sent and no relay kick waits (the relay's lag at the end)."""
        started = time.perf_counter()
        with Connection(self.broker_url) as broker:
            channel = broker.channel()
            while events.pending() or channel.queue_declare(relays.QUEUE, passive=True).message_count:
                if time.perf_counter() - started > CATCH_UP_TIMEOUT:
                    raise RuntimeError(f"the relay did not catch up in {CATCH_UP_TIMEOUT:.0f}s: is the worker running?")
                time.sleep(0.05)
        return round(time.perf_counter() - started, 2)


def _figures(
    ours: list[Load], anchor: list[Load], keyed: Load, *, members: int, setup_seconds: float, round_seconds: float
) -> list[Figure]:
    failed = sum(run.failed for run in [*ours, *anchor, keyed])
    valid = failed == 0
    invalid = [] if valid else [f"INVALID: {failed} requests without a 201"]
    typical_ours = _median_run(ours)
    typical_anchor = _median_run(anchor)
    details = {
        "server": f"gunicorn {WORKERS} sync workers, blipay.wsgi, bench.server_settings, BLIPAY_RATE_LIMITS=off",
        "relay": "Celery worker, prefork -c 2, kicked on commit, own RabbitMQ vhost",
        "load": f"wrk -t1 -c{CONCURRENCY}, {len(ours)} rounds of {round_seconds:g} s per endpoint, alternating",
        "members": members,
        "merchants": 10,
        "setup_seconds": round(setup_seconds, 1),
        "requests_without_201": failed,
        "valid": valid,
        "ours_runs": [run.summary() for run in ours],
        "anchor_runs": [run.summary() for run in anchor],
        "ours_with_idempotency_key": keyed.summary(),
    }
    throughput = Figure(
        name="api_payments",
        unit="requests/s",
        ours=median([run.rate for run in ours]),
        anchor=median([run.rate for run in anchor]),
        ours_label="POST /api/v1/payments",
        anchor_label="bare DRF endpoint, one INSERT",
        targets=[f"ratio >= {TARGET_RATIO:.2f}", *invalid],
        details=details,
        series={"ours": _series(typical_ours), "anchor": _series(typical_anchor), "keyed": _series(keyed)},
    )
    throughput.met = valid and throughput.ratio is not None and throughput.ratio >= TARGET_RATIO
    latency = Figure(
        name="api_payments_p99",
        unit="ms",
        ours=median([run.ms(99) for run in ours]),
        anchor=median([run.ms(99) for run in anchor]),
        higher_is_better=False,
        ours_label=throughput.ours_label,
        anchor_label=throughput.anchor_label,
        targets=[f"ours <= {TARGET_P99_MS:.0f} ms at c={CONCURRENCY}", *invalid],
        details={
            "concurrency": CONCURRENCY,
            "ours_p50_ms": round(median([run.ms(50) for run in ours]), 2),
            "anchor_p50_ms": round(median([run.ms(50) for run in anchor]), 2),
            "ours_p99_runs_ms": [round(run.ms(99), 2) for run in ours],
            "anchor_p99_runs_ms": [round(run.ms(99), 2) for run in anchor],
        },
    )
    latency.met = valid and latency.ours is not None and latency.ours <= TARGET_P99_MS
    return [throughput, latency]


def _median_run(runs: list[Load]) -> Load:
    return sorted(runs, key=lambda run: run.rate)[len(runs) // 2]


def _series(run: Load) -> dict:
    return {
        "per_s": round(run.rate, 1),
        "percent": [q for q, _ in run.percentiles],
        "ms": [round(ms, 3) for _, ms in run.percentiles],
    }
