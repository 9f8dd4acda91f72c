"""Growth of the HTTP paths: do ``POST /api/v1/payments`` and ``GET /api/v1/members/{id}``
stay as fast when the ledger and the outbox are large? Figure 5's production setup (funded
actors, gunicorn, the Celery worker relaying on commit, own vhost) measured at a fixed
moderate load on the tables as the set-up leaves them, then again after ``bench/ledger.py``
has added a million ledger transactions (with their entries, payments, overview lines and
sent ``wallet.balance_changed`` outbox rows) spread over 50,000 other members plus some
history of the actors' own.

- ``growth_payment_p99``: p99 of ``POST /api/v1/payments``; ours on the large tables,
  anchor on the small ones (lower is better, so the ratio is small/large).
- ``growth_member_read_p99``: p99 of ``GET /api/v1/members/{id}``, each request a random
  actor reading its own page with its own token.

The large tables are measured twice: first with the statistics of the small tables
(autovacuum held off those tables, as when a bulk load outruns it: how the relay's claim
went quadratic once), then after ``VACUUM ANALYZE`` (production's autovacuum, eventually),
which is the headline. The JSON has p50s, every round and the row counts of each state.
"""

from pathlib import Path

from django.conf import settings

from bench import api_server, env, ledger, relays
from bench.context import Context
from bench.figures.api_payments import Load, Loader
from bench.report import Figure, median
from blipay.identity.credentials import principal_for

VHOST = f"{settings.DATABASES['default']['NAME']}_growth"
PAY_PATH = "/api/v1/payments"
READ_PATH = "/api/v1/members/{id}"
CONCURRENCY = 4  # moderate: a worker each, so the p99 is the request's, not a queue's
FLAT = 0.8  # p99 on the small tables over p99 on the large ones, below which a cost grows
OTHER_MEMBERS = 50_000


def run(context: Context) -> list[Figure]:
    members = context.size(1_000, 100)
    seconds = context.duration(10.0, 3.0)
    rounds = context.size(3, 1)
    grown = context.size(1_000_000, 50_000)
    wrk = env.ensure_wrk()
    broker_url = env.vhost_create(VHOST)
    actors, pages = env.RESULTS / "growth-actors.txt", env.RESULTS / "growth-pages.txt"
    states: dict[str, dict] = {}
    try:
        overrides = {"BROKER_URL": broker_url}
        api_server.setup_actors(members, actors, overrides)
        lines = api_server.actor_lines(actors)
        ids = [str(principal_for(token).id) for token, _ in lines]
        pages.write_text("".join(f"{token} {member}\n" for (token, _), member in zip(lines, ids, strict=True)))
        with (
            relays.celery_worker(name="growth-celery-worker", overrides=overrides) as relay,
            api_server.serving("growth-gunicorn", actors, overrides) as server,
        ):
            processes = {"gunicorn": server.pid, "relay": relay.pid}
            load = Loader(wrk, server.url, actors, broker_url, processes=processes, concurrency=CONCURRENCY)
            load(PAY_PATH, 3.0, catch_up=True)  # warm-up: every worker's first requests
            load(READ_PATH, 3.0, pages=pages)
            ledger.analyze()
            states["small"] = _state(load, pages, rounds, seconds)
            ledger.autovacuum(enabled=False)
            try:
                build_s = ledger.grow(
                    transactions=grown,
                    members=context.size(OTHER_MEMBERS, OTHER_MEMBERS // 20),
                    actors=ids,
                    merchants=sorted({merchant for _, merchant in lines}),
                )
                print(f"    built {grown:,} ledger transactions in {build_s:.0f} s", flush=True)
                states["large_stale_statistics"] = _state(load, pages, rounds, seconds)
            finally:
                ledger.autovacuum(enabled=True)
            analyze_s = ledger.analyze()
            states["large"] = _state(load, pages, rounds, seconds)
    finally:
        env.vhost_delete(VHOST)
        actors.unlink(missing_ok=True)
        pages.unlink(missing_ok=True)
    common = {
        "load": f"wrk -t1 -c{CONCURRENCY}, {rounds} rounds of {seconds:g} s per endpoint and state, alternating",
        "actors": members,
        "build_seconds": round(build_s, 1),
        "vacuum_analyze_seconds": round(analyze_s, 1),
        "rows": {state: found["rows"] for state, found in states.items()},
    }
    return [
        _figure("growth_payment_p99", "pay", "POST /api/v1/payments", states, common),
        _figure("growth_member_read_p99", "read", "GET /api/v1/members/{id}", states, common),
    ]


def _state(load: Loader, pages: Path, rounds: int, seconds: float) -> dict:
    """Rounds of payments (then the relay catches up) alternating with rounds of reads."""
    pay: list[Load] = []
    read: list[Load] = []
    for _ in range(rounds):
        pay.append(load(PAY_PATH, seconds, catch_up=True))
        read.append(load(READ_PATH, seconds, pages=pages))
    rows = ledger.counts()
    found = {"rows": rows.as_dict(), "pay": pay, "read": read}
    print(
        f"    {rows.ledger_transactions:>9,} ledger transactions, {rows.sent_outbox_rows:>9,} sent outbox rows:"
        f" payment p50 {_ms(pay, 50):.1f} p99 {_ms(pay, 99):.1f} ms,"
        f" member read p50 {_ms(read, 50):.1f} p99 {_ms(read, 99):.1f} ms",
        flush=True,
    )
    return found


def _ms(runs: list[Load], percent: float) -> float:
    return median([run.ms(percent) for run in runs])


def _figure(name: str, side: str, label: str, states: dict[str, dict], common: dict) -> Figure:
    small, large = states["small"], states["large"]
    failed = sum(run.failed for state in states.values() for run in state[side])
    invalid = [] if failed == 0 else [f"INVALID: {failed} requests without a {large[side][0].ok}"]
    figure = Figure(
        name=name,
        unit="ms",
        ours=_ms(large[side], 99),
        anchor=_ms(small[side], 99),
        higher_is_better=False,
        ours_label=f"{label}, {large['rows']['ledger_transactions']:,} ledger transactions",
        anchor_label=f"{label}, {small['rows']['ledger_transactions']:,} ledger transactions",
        targets=[f"ratio >= {FLAT} (flat as the tables grow)", *invalid],
        details={
            **common,
            "requests_without_ok": failed,
            **{f"{state}_p{q}_ms": round(_ms(found[side], q), 2) for state, found in states.items() for q in (50, 99)},
            "runs": {state: [run.summary() for run in found[side]] for state, found in states.items()},
        },
        series={
            "states": list(states),
            "p50_ms": [round(_ms(found[side], 50), 2) for found in states.values()],
            "p99_ms": [round(_ms(found[side], 99), 2) for found in states.values()],
        },
    )
    figure.met = failed == 0 and figure.ratio is not None and figure.ratio >= FLAT
    return figure
