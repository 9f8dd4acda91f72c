"""Steady mixed traffic through the public API, and the client's own tally of it.

The client is the demanding kind: every POST carries an ``Idempotency-Key`` and is sent
again, same key, same body, until the answer is definite (2xx, or a 4xx refusal), however
the system fails in between. What it keeps is only what those definite answers said: the
expected balance of each member is the sum of that member's own successful requests (and
the cashback a running promotion owes on its payments).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3

from apps.payments.signatures import bank_signature
from tests.faults.stack import BANK_SECRET

DEFAULT_SEED = 20261125
ANSWER_DEADLINE = 120.0  # seconds a client keeps retrying one request before giving up
CASHBACK_PERCENT, CASHBACK_MAX = 10, 5_000


def fault_seed() -> int:
    """The run's seed: ``BLIPAY_FAULT_SEED``, or a fixed default so runs repeat."""
    return int(os.environ.get("BLIPAY_FAULT_SEED") or DEFAULT_SEED)


class NoDefiniteAnswer(AssertionError):
    """A request that got no definite answer within ANSWER_DEADLINE: a lost request."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    attempts: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _definite(status: int, body: Any) -> bool:
    if 200 <= status < 300:
        return True
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    # Still running elsewhere (409 idempotency_key_in_use) or slowed down (429): ask again.
    return 400 <= status < 500 and status != 429 and code != "idempotency_key_in_use"


class Api:
    """HTTP to the running gunicorn, retried until a definite answer."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.pool = urllib3.PoolManager(
            maxsize=32, retries=False, timeout=urllib3.Timeout(connect=3, read=20), block=False
        )
        self.retries = Counter()  # why requests were sent again: "503", "ProtocolError"…

    def call(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        *,
        token: str | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = False,
    ) -> Answer:
        raw = json.dumps(body).encode() if body is not None else None
        base = {"Content-Type": "application/json", **(headers or {})}
        if token:
            base["Authorization"] = f"Bearer {token}"
        if method == "POST":
            base["Idempotency-Key"] = key or uuid.uuid4().hex
        deadline = time.monotonic() + ANSWER_DEADLINE
        attempts = 0
        while True:
            attempts += 1
            sent = dict(base)
            if sign:  # the bank signs each delivery afresh
                sent["X-Bank-Signature"] = bank_signature(raw_body=raw, timestamp=int(time.time()), secret=BANK_SECRET)
            try:
                response = self.pool.request(method, self.base_url + path, body=raw, headers=sent)
                status = response.status
                try:
                    answer = json.loads(response.data or b"{}")
                except ValueError:
                    answer = {"raw": response.data[:200].decode(errors="replace")}
                why = str(status)
            except urllib3.exceptions.HTTPError as exc:
                status, answer, why = 0, None, type(exc).__name__
            if status and _definite(status, answer):
                return Answer(status, answer, attempts)
            self.retries[why] += 1
            if time.monotonic() > deadline:
                raise NoDefiniteAnswer(
                    f"{method} {path}: no definite answer in {ANSWER_DEADLINE}s, last {why} {answer}"
                )
            time.sleep(min(0.1 * attempts, 1.0))

    def get_all(self, path: str, token: str) -> list[dict]:
        """Every page of a cursor-paginated list."""
        results: list[dict] = []
        url: str | None = path
        while url:
            answer = self.call("GET", url, token=token)
            assert answer.status == 200, (path, answer)
            results += answer.body["results"]
            url = answer.body["next"]
            if url:
                url = url[url.index("/api/") :]
        return results


@dataclass
class Member:
    id: str
    token: str
    balance: int = 0  # what the member's own successful requests add up to
    cashback: int = 0  # the part of it that arrives eventually, after the payment's answer
    ledger: Counter = field(default_factory=Counter)  # (kind, reference or "", amount) → times
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def spendable(self) -> int:
        """What the member surely has now, whether or not its cashback has arrived."""
        return self.balance - self.cashback


@dataclass
class Merchant:
    id: str
    api_key: str
    promoted: bool = False


@dataclass
class Payment:
    id: str
    member: Member
    merchant: Merchant
    amount: int
    refunded: int = 0


@dataclass
class World:
    """What the clients know: who they are and what they were told."""

    members: list[Member] = field(default_factory=list)
    merchants: list[Merchant] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)  # definite refusals by error code
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def cashback(amount: int) -> int:
    """What the running promotion grants for a payment (apps/promotions/README.md)."""
    return min(amount * CASHBACK_PERCENT // 100, CASHBACK_MAX)


class Client:
    """The operations, each a few requests that end in a definite answer, tallied."""

    def __init__(self, api: Api, world: World, staff_token: str) -> None:
        self.api, self.world, self.staff_token = api, world, staff_token

    def _post(self, path: str, body: dict, **options: Any) -> Answer:
        answer = self.api.call("POST", path, body, **options)
        with self.world.lock:
            self.world.requests += 1
            if not answer.ok:
                self.world.refused[answer.body.get("error", {}).get("code", str(answer.status))] += 1
        return answer

    def register_member(self, rng: random.Random) -> Member:
        tag = f"{rng.getrandbits(64):016x}"
        answer = self._post(
            "/api/v1/members",
            {"name": f"Member {tag[:6]}", "email": f"m-{tag}@faults.blipay.test", "phone": "+6281234567890"},
        )
        assert answer.status == 201, answer
        member = Member(answer.body["id"], answer.body["token"])
        with self.world.lock:
            self.world.members.append(member)
        return member

    def register_merchant(self, rng: random.Random) -> Merchant:
        tag = f"{rng.getrandbits(64):016x}"
        answer = self._post("/api/v1/merchants", {"name": f"Toko {tag[:6]}", "email": f"t-{tag}@faults.blipay.test"})
        assert answer.status == 201, answer
        merchant = Merchant(answer.body["id"], answer.body["api_key"])
        with self.world.lock:
            self.world.merchants.append(merchant)
        return merchant

    def promote(self, merchant: Merchant, *, timeout: float = 60) -> None:
        """A running cashback promotion at ``merchant``. Its merchant.saved must have reached
        the promotions module first (422 merchant_not_found until then)."""
        now = datetime.now(UTC)
        body = {
            "merchant_id": merchant.id,
            "percent": CASHBACK_PERCENT,
            "max_amount": CASHBACK_MAX,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        }
        deadline = time.monotonic() + timeout
        while True:
            answer = self._post("/api/v1/promotions", body, token=self.staff_token)
            if answer.status == 201:
                merchant.promoted = True
                return
            assert answer.body["error"]["code"] == "merchant_not_found", answer
            assert time.monotonic() < deadline, f"the promotions module never learnt of merchant {merchant.id}"
            time.sleep(0.2)

    def top_up(self, member: Member, amount: int, rng: random.Random) -> None:
        """Ask for a top-up; the bank confirms it (signed, retried like banks do)."""
        answer = self._post("/api/v1/topups", {"amount": amount}, token=member.token)
        assert answer.status == 201, answer
        topup = answer.body
        confirmation = {
            "reference": topup["reference"],
            "amount": amount,
            "status": "paid",
            "bank_transaction_id": f"BANK-{rng.getrandbits(64):016X}",
            "paid_at": datetime.now(UTC).isoformat(),
        }
        confirmed = self._post("/api/v1/bank/notifications", confirmation, sign=True)
        assert confirmed.status == 200, confirmed
        member.balance += amount
        member.ledger["topup", topup["id"], amount] += 1

    def pay(self, member: Member, merchant: Merchant, amount: int) -> None:
        answer = self._post("/api/v1/payments", {"merchant_id": merchant.id, "amount": amount}, token=member.token)
        code = answer.body.get("error", {}).get("code")
        if code == "insufficient_balance":
            # Only asked when the client knows it can't afford it.
            assert amount > member.balance, answer
            return
        if code == "merchant_not_found":
            # Registered a moment ago: its merchant.saved hasn't reached payments yet (the
            # audit checks it does). Nothing changed; the client may try again later.
            return
        assert answer.status == 201, answer
        member.balance -= amount
        member.ledger["payment", answer.body["id"], -amount] += 1
        if merchant.promoted and cashback(amount):
            member.balance += cashback(amount)
            member.cashback += cashback(amount)
            member.ledger["cashback", "", cashback(amount)] += 1
        with self.world.lock:
            self.world.payments.append(Payment(answer.body["id"], member, merchant, amount))

    def refund(self, payment: Payment, amount: int) -> None:
        answer = self._post(
            f"/api/v1/payments/{payment.id}/refunds", {"amount": amount}, token=payment.merchant.api_key
        )
        assert answer.status == 201, answer
        payment.refunded += amount
        payment.member.balance += amount
        payment.member.ledger["refund", answer.body["id"], amount] += 1


class Traffic:
    """Operations started at a fixed rate, chosen by a seeded generator, run by a pool of
    clients; one member's operations never overlap (a person does one thing at a time)."""

    def __init__(self, client: Client, *, seed: int | str, rate: float, workers: int = 12) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.rate = rate
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="client")
        self.futures: list[Future] = []
        self.started = 0

    def seed_world(self, *, merchants: int = 3, members: int = 6) -> None:
        """A promoted merchant, a few others, and members with money."""
        world = self.client.world
        for _ in range(merchants):
            self.client.register_merchant(self.rng)
        self.client.promote(world.merchants[0])
        for _ in range(members):
            member = self.client.register_member(self.rng)
            self.client.top_up(member, self.rng.randrange(50_000, 500_000, 1_000), self.rng)

    def run(self, seconds: float, *, during: list[tuple[float, Any]] | None = None) -> None:
        """Start operations at ``rate`` per second for ``seconds``; at each (offset, action)
        of ``during`` run the action (a fault) in its own thread. Returns once every
        operation has its definite answer; re-raises the first failure."""
        begin = time.monotonic()
        actions = sorted(during or [], key=lambda item: item[0])
        threads: list[threading.Thread] = []
        errors: list[BaseException] = []

        def guarded(action: Any) -> None:
            try:
                action()
            except BaseException as exc:  # noqa: BLE001 - handed to the test below
                errors.append(exc)

        tick = 0
        while (now := time.monotonic() - begin) < seconds:
            while actions and actions[0][0] <= now:
                thread = threading.Thread(target=guarded, args=(actions.pop(0)[1],), name="fault")
                thread.start()
                threads.append(thread)
            self.futures.append(self.pool.submit(*self._next_operation()))
            self.started += 1
            tick += 1
            time.sleep(max(0.0, begin + tick / self.rate - time.monotonic()))
        for thread in threads:
            thread.join()
        for future in self.futures:
            future.result()
        self.futures.clear()
        if errors:
            raise errors[0]

    def _next_operation(self) -> tuple:
        """(function, *args): drawn now, from the seeded generator, in a fixed order."""
        rng = random.Random(self.rng.getrandbits(64))  # the operation's own draws
        world, roll = self.client.world, self.rng.random()
        with world.lock:
            members, merchants, payments = list(world.members), list(world.merchants), list(world.payments)
        if roll < 0.10:
            return (self._register_and_top_up, rng)
        if roll < 0.12:
            return (self.client.register_merchant, rng)
        member = rng.choice(members)
        if roll < 0.35:
            return (self._locked, member, self.client.top_up, rng.randrange(10_000, 300_000, 1_000), rng)
        if roll < 0.82:
            # Half the payments at the promoted merchant.
            merchant = merchants[0] if rng.random() < 0.5 else rng.choice(merchants)
            return (self._locked, member, self._pay, merchant, rng.random(), rng.random() < 0.05)
        if payments:
            payment = rng.choice(payments)
            return (self._locked, payment.member, self._refund, payment, rng.random())
        return (self._locked, member, self.client.top_up, 100_000, rng)

    def _register_and_top_up(self, rng: random.Random) -> None:
        member = self.client.register_member(rng)
        with member.lock:
            self.client.top_up(member, rng.randrange(20_000, 200_000, 1_000), rng)

    @staticmethod
    def _locked(member: Member, operation: Any, *args: Any) -> None:
        with member.lock:
            operation(member, *args)

    def _pay(self, member: Member, merchant: Merchant, share: float, too_much: bool) -> None:
        if too_much:  # more than it has: a refusal, and nothing changes
            self.client.pay(member, merchant, member.balance + CASHBACK_MAX * 100 + 1)
        elif member.spendable > 0:
            self.client.pay(member, merchant, max(1, int(member.spendable * share * 0.5)))

    def _refund(self, member: Member, payment: Payment, share: float) -> None:
        left = payment.amount - payment.refunded
        if left > 0:
            self.client.refund(payment, max(1, int(left * share)))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
