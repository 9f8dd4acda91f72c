"""Read-your-writes lag: at a steady 100 payments/s, how long after a payment's 201 does
``GET /api/v1/members/{id}`` show the balance it left? This is what a member feels of
eventual consistency: the balance there comes from the overview's read model, fed by
``wallet.balance_changed`` through the relay, the broker and the overview's consumer.

The production setup of figure 5 (gunicorn, the Celery worker relaying on commit) plus
``manage.py consume --all`` (every consuming module, as ``manage.py serve`` runs them).
An open-loop client starts a payment every 10 ms, each by the next of 1,000 funded
members in turn (so a member never has two in flight and its balance is known); every
10th payment is followed by polling its member's page every 10 ms until the new balance
shows. The lag is from the 201's arrival to the arrival of the first page showing it,
so it includes one read's latency and up to one poll interval. The anchor is that read's
own p99 in the same run: the floor below which no lag can be seen.

It runs first at half the rate (in the JSON), then at the figure's, each on a settled system
(the set-up's events consumed, nothing queued), with the CPU each process spent per payment.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import urllib3
from django.conf import settings

from bench import api_server, cpu, env, relays
from bench.api_server import AMOUNT, BALANCE
from bench.context import Context
from bench.report import Figure, percentile
from blipay.events.relay import any_pending
from blipay.identity.credentials import principal_for

VHOST = f"{settings.DATABASES['default']['NAME']}_lag"
RATE = 100  # payments/s
TRACK_EVERY = 10  # payments; the others only load the system
PAYERS = 48  # client threads sending payments
WATCHERS = 100  # client threads reading tracked pages: a watch lasts at most GIVE_UP, 10 start a second
POLL = 0.010  # seconds between two reads of a tracked member's page
GIVE_UP = 10.0  # seconds: a balance not shown by then counts as a miss
TARGET_P99_MS = 100.0


@dataclass
class Member:
    id: str
    token: str
    merchant: str
    paid: int = 0  # successful payments so far

    @property
    def balance(self) -> int:
        return BALANCE - self.paid * AMOUNT


@dataclass
class Lags:
    rate: float  # payments/s asked
    created: int = 0
    refused: int = 0
    lags_ms: list[float] = field(default_factory=list)
    reads_ms: list[float] = field(default_factory=list)
    missed: int = 0
    late_starts: int = 0  # payments the client sent more than 10 ms after their slot
    first_sent: float = float("inf")
    last_answered: float = 0.0
    # Per process while the load ran (bench.cpu), the client's reads included in gunicorn's.
    cpu_ms_per_payment: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def valid(self) -> bool:
        return self.refused == 0 and self.missed == 0

    def summary(self) -> dict:
        p = percentile
        return {
            "rate_asked_per_s": self.rate,
            # From the first payment sent to the last answered: below the rate asked if the
            # server fell behind.
            "rate_done_per_s": round(self.created / max(self.last_answered - self.first_sent, 1e-9), 1),
            "payments": self.created,
            "refused": self.refused,
            "late_starts": self.late_starts,
            "tracked": len(self.lags_ms),
            "missed": self.missed,
            **{f"p{q}_ms": round(p(self.lags_ms, q), 1) for q in (50, 90, 99)},
            "max_ms": round(max(self.lags_ms, default=float("nan")), 1),
            "reads": len(self.reads_ms),
            "read_p50_ms": round(p(self.reads_ms, 50), 1),
            "cpu_ms_per_payment": self.cpu_ms_per_payment,
        }


def run(context: Context) -> list[Figure]:
    members = context.size(1_000, 100)
    seconds = context.duration(30.0, 8.0)
    broker_url = env.vhost_create(VHOST)
    actors = env.RESULTS / "lag-actors.txt"
    try:
        overrides = {"BROKER_URL": broker_url}
        api_server.setup_actors(members, actors, overrides)
        with (
            relays.celery_worker(name="lag-celery-worker", overrides=overrides) as relay,
            env.child("lag-consumers", ["manage.py", "consume", "--all"], env=overrides) as consumers,
            api_server.serving("lag-gunicorn", actors, overrides) as server,
        ):
            paying = _members(actors)
            # The set-up's events (registrations, top-ups: welcome and balance notifications,
            # their emails) reach the consumers only now; measured on top of that backlog,
            # the first run's lag was seconds even at 50 payments/s.
            drained_s = _settle(VHOST)
            _load(server.url, paying, 3.0, Lags(rate=RATE))  # warm-up: every worker's first requests
            _settle(VHOST)
            processes = {"gunicorn": server.pid, "relay": relay.pid, "consumers": consumers.pid}
            # First at half the rate, for the lag of the hops themselves where the machine
            # keeps up; then the figure's rate.
            half = _measured(server.url, paying, seconds, Lags(rate=RATE / 2), processes)
            _settle(VHOST)
            lags = _measured(server.url, paying, seconds, Lags(rate=RATE), processes)
    finally:
        env.vhost_delete(VHOST)
        actors.unlink(missing_ok=True)
    return [_figure(lags, half, drained_s)]


def _settle(vhost: str, *, timeout: float = 600.0) -> float:
    """Wait until every event is relayed and every consumed queue is empty (twice in a row,
    half a second apart: a consumer may be emitting what it just applied); the seconds it took."""
    started = time.perf_counter()
    calm = 0
    while calm < 2:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"the consumers did not catch up in {timeout:.0f} s: see bench/results/lag-*.log")
        calm = calm + 1 if not any_pending() and env.consumed_queues_depth(vhost) == 0 else 0
        time.sleep(0.5)
    return round(time.perf_counter() - started, 1)


def _measured(url: str, members: list[Member], seconds: float, lags: Lags, processes: dict[str, int]) -> Lags:
    before = cpu.snapshot(processes)
    _load(url, members, seconds, lags)
    lags.cpu_ms_per_payment = cpu.ms_per(before, cpu.snapshot(processes), lags.created)
    return lags


def _members(actors: Path) -> list[Member]:
    return [
        Member(id=str(principal_for(token).id), token=token, merchant=merchant)
        for token, merchant in api_server.actor_lines(actors)
    ]


def _load(url: str, members: list[Member], seconds: float, lags: Lags) -> None:
    http = urllib3.PoolManager(maxsize=WATCHERS + PAYERS, retries=False, timeout=urllib3.Timeout(total=10))
    total = int(seconds * lags.rate)
    started = time.perf_counter()
    # Two pools: when watching took the payers' threads, a lag of seconds held back the
    # payments themselves: the load ran at about 60/s while it said 100.
    with ThreadPoolExecutor(max_workers=WATCHERS) as watchers, ThreadPoolExecutor(max_workers=PAYERS) as payers:
        for n in range(total):
            slot = started + n / lags.rate
            wait = slot - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            member = members[n % len(members)]
            payers.submit(_pay, http, url, member, lags, slot=slot, watch=watchers if n % TRACK_EVERY == 0 else None)


def _pay(
    http: urllib3.PoolManager, url: str, member: Member, lags: Lags, *, slot: float, watch: ThreadPoolExecutor | None
) -> None:
    sent = time.perf_counter()
    answer = http.request(
        "POST",
        f"{url}/api/v1/payments",
        json={"merchant_id": member.merchant, "amount": AMOUNT, "description": "bench"},
        headers={"Authorization": f"Bearer {member.token}"},
    )
    paid_at = time.perf_counter()
    with lags.lock:
        lags.late_starts += sent - slot > POLL
        lags.first_sent, lags.last_answered = min(lags.first_sent, sent), max(lags.last_answered, paid_at)
        if answer.status != 201:
            lags.refused += 1
            return
        lags.created += 1
    member.paid += 1
    if watch is not None:
        watch.submit(_watch, http, url, member, member.balance, paid_at, lags)


def _watch(http: urllib3.PoolManager, url: str, member: Member, expected: int, paid_at: float, lags: Lags) -> None:
    while time.perf_counter() - paid_at < GIVE_UP:
        shown, read_ms = _shown_balance(http, url, member)
        with lags.lock:
            lags.reads_ms.append(read_ms)
        if shown <= expected:  # a later payment of the same member can only lower it further
            with lags.lock:
                lags.lags_ms.append((time.perf_counter() - paid_at) * 1000)
            return
        time.sleep(POLL)
    with lags.lock:
        lags.missed += 1


def _shown_balance(http: urllib3.PoolManager, url: str, member: Member) -> tuple[int, float]:
    asked = time.perf_counter()
    page = http.request("GET", f"{url}/api/v1/members/{member.id}", headers={"Authorization": f"Bearer {member.token}"})
    read_ms = (time.perf_counter() - asked) * 1000
    if page.status != 200:
        raise RuntimeError(f"GET /api/v1/members/{member.id} answered {page.status}: {page.data[:200]!r}")
    return page.json()["balance"]["amount"], read_ms


def _figure(lags: Lags, half: Lags, drained_s: float) -> Figure:
    p = percentile
    invalid = [
        f"at {run.rate:g}/s {run.refused} payments refused, {run.missed} balances never shown"
        for run in (half, lags)
        if not run.valid
    ]
    figure = Figure(
        name="read_model_lag_p99",
        unit="ms",
        ours=p(lags.lags_ms, 99),
        anchor=p(lags.reads_ms, 99),
        higher_is_better=False,
        ours_label="payment 201 → GET /members/{id} shows the balance",
        anchor_label="GET /members/{id} itself",
        targets=[
            f"ours <= {TARGET_P99_MS:.0f} ms at {RATE} payments/s",
            *([f"INVALID: {'; '.join(invalid)}"] if invalid else []),
        ],
        details={**lags.summary(), "at_half_rate": half.summary(), "setup_events_consumed_in_s": drained_s},
        series={"lags_ms": sorted(round(x, 2) for x in lags.lags_ms)},
    )
    figure.met = not invalid and figure.ours is not None and figure.ours <= TARGET_P99_MS
    return figure
