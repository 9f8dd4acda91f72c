"""The choreography made visible: the five flows of the talk through the real API, each
step followed by the events it set off and the modules that reacted to them."""

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import mail
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from apps.payments.public import bank_signature
from blipay.events.consumers import consumers_in_threads
from blipay.events.errors import BrokerUnavailable
from blipay.events.monitoring import TracedEvent, trace
from blipay.events.relay import relay_in_process
from blipay.events.subscriptions import consuming_modules, routing_keys

CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"
EVENT_STATUS = {"Schedule": "waiting for the relay", "Succeeded": "on the broker", "Failed": "refused by the broker"}


class Command(BaseCommand):
    help = (
        "Run the five flows of the talk against this configuration (its database and broker) "
        "through the real API, in-process: register a merchant, register a member, top up "
        "(the bank confirms, signed), pay the merchant, refund part of it, then read the member "
        "with its balance. Each HTTP call carries X-Request-ID demo-<run>-<step>; after each "
        "one the command waits until every event of that correlation id is handled and prints "
        "them as a tree: type, subject, and which module handled each. On the embedded "
        "broker (memory://) it runs the module consumers itself, in threads; on RabbitMQ it "
        "relies on the running consumers (make run, or manage.py consume --all) unless "
        "--run-consumers is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--wait",
            type=float,
            default=5.0,
            help="seconds to wait, per step, for the events to be handled (default 5)",
        )
        parser.add_argument(
            "--run-consumers",
            action="store_true",
            help="run the module consumers in this process even on a real broker "
            "(always the case on the embedded memory:// broker)",
        )

    def handle(self, *args, wait: float, run_consumers: bool, **options) -> None:
        embedded = settings.BROKER_URL.startswith("memory://")
        with ExitStack() as stack:
            if embedded or run_consumers:
                stack.enter_context(consumers_in_threads())
                self.stdout.write(f"consumers: {', '.join(consuming_modules())} (running in this process)")
            else:
                self.stdout.write(
                    f"consumers: the running ones on {_safe_url(settings.BROKER_URL)} "
                    "(make run, or manage.py consume --all)"
                )
            if settings.EMAIL_BACKEND == CONSOLE_EMAIL:
                # Keep the choreography readable: list the emails instead of dumping them.
                stack.enter_context(override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"))
            Demo(self, wait=wait, consumers_here=embedded or run_consumers).run()


@dataclass
class Answer:
    status: int
    body: Any


class Demo:
    def __init__(self, command: BaseCommand, *, wait: float, consumers_here: bool) -> None:
        self.out = command.stdout
        self.style = command.style
        self.wait = wait
        self.consumers_here = consumers_here
        self.run_id = uuid.uuid4().hex[:6]
        self.step = 0
        self.client = Client(HTTP_HOST=_allowed_host())
        self.unhandled_steps = 0

    def run(self) -> None:
        suffix = self.run_id
        self.flow("1. A merchant registers")
        merchant = self.call(
            "POST", "/api/v1/merchants", body={"name": "Kopi Kenangan Demo", "email": f"kopi-{suffix}@demo.blipay.test"}
        )
        self.flow("2. A member registers (the welcome notification follows from member.saved)")
        member = self.call(
            "POST",
            "/api/v1/members",
            body={"name": "Ani Wijaya", "email": f"ani-{suffix}@demo.blipay.test", "phone": "+6281234567890"},
        )
        self.flow("3. The member tops up by bank transfer; the bank confirms (signed)")
        topup = self.call("POST", "/api/v1/topups", as_=("member", member["token"]), body={"amount": 100_000})
        self.confirm_by_bank(topup)
        self.flow("4. The member pays the merchant from the balance")
        payment = self.call(
            "POST",
            "/api/v1/payments",
            as_=("member", member["token"]),
            body={"merchant_id": merchant["id"], "amount": 30_000, "description": "2x kopi susu"},
        )
        self.flow("5. The merchant refunds part of the payment")
        self.call(
            "POST",
            f"/api/v1/payments/{payment['id']}/refunds",
            as_=("merchant", merchant["api_key"]),
            body={"amount": 10_000, "reason": "one coffee was out of stock"},
        )
        self.flow("The member with the balance (the read model)")
        me = self.call("GET", f"/api/v1/members/{member['id']}", as_=("member", member["token"]))
        self.out.write(f"   balance: Rp {me['balance']['amount']:,}")
        for line in me["recent_transactions"]:
            self.out.write(f"   {line['kind']:<8} Rp {line['amount']:>+10,}  {line['description']}")
        self.out.write(
            self.style.SUCCESS(
                f"\nDone. Follow any step again: .venv/bin/python manage.py events trace demo-{suffix}-<step>"
            )
        )
        if self.unhandled_steps and not self.consumers_here:
            self.out.write(
                self.style.WARNING(
                    f"{self.unhandled_steps} step(s) had events no consumer handled within {self.wait:g}s: "
                    "are the consumers running? (make run with BROKER_URL, manage.py consume --all, "
                    "or run this command with --run-consumers)"
                )
            )

    def flow(self, title: str) -> None:
        self.out.write(self.style.MIGRATE_HEADING(f"\n{title}"))

    def confirm_by_bank(self, topup: dict) -> None:
        body = {
            "reference": topup["reference"],
            "amount": topup["amount"],
            "status": "paid",
            "bank_transaction_id": f"DEMO-{uuid.uuid4().hex[:12].upper()}",
            "paid_at": timezone.now().isoformat(),
        }
        raw = json.dumps(body).encode()
        signature = bank_signature(raw_body=raw, timestamp=int(time.time()))
        self.call(
            "POST",
            "/api/v1/bank/notifications",
            as_=("the bank", None),
            raw=raw,
            headers={"X-Bank-Signature": signature},
            shown=body,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        as_: tuple[str, str | None] = ("anyone", None),
        body: dict | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        shown: dict | None = None,
    ) -> Any:
        self.step += 1
        request_id = f"demo-{self.run_id}-{self.step}"
        who, token = as_
        headers = {"X-Request-ID": request_id, **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if method == "POST":
            headers["Idempotency-Key"] = request_id
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        self.out.write(f"→ {method} {path}  by {who}  X-Request-ID: {request_id}")
        if shown or body:
            self.out.write(f"  {json.dumps(shown or body)}")
        response = self.client.generic(
            method, path, data=payload or "", content_type="application/json", headers=headers
        )
        answer = Answer(response.status_code, response.json() if response.content else None)
        self.out.write(f"← {answer.status} {_summary(answer.body)}")
        if answer.status >= 400:
            hint = (
                f"; events of {self.unhandled_steps} earlier step(s) were not handled: are the consumers running?"
                if self.unhandled_steps
                else ""
            )
            raise CommandError(f"step {self.step} failed: {answer.status} {answer.body}{hint}")
        if method != "GET":
            self.show_events(request_id)
        return answer.body

    def show_events(self, correlation_id: str) -> None:
        mails_before = len(getattr(mail, "outbox", []))
        roots, settled = self.settle(correlation_id)
        if not roots:
            self.out.write("  events: none")
            return
        self.out.write(f"  events of {correlation_id}:")
        for root in roots:
            self.print_event(root, depth=0)
        if not settled:
            self.unhandled_steps += 1
            self.out.write(self.style.WARNING(f"  (not all handled within {self.wait:g}s)"))
        for message in getattr(mail, "outbox", [])[mails_before:]:
            self.out.write(f"  email to {', '.join(message.to)}: {message.subject}")

    def settle(self, correlation_id: str) -> tuple[list[TracedEvent], bool]:
        """Wait until every event of the correlation id is on the broker and handled by every
        module that subscribes to it (the tree grows as handlers emit), or until the wait is up."""
        deadline = time.monotonic() + self.wait
        while True:
            roots = trace(correlation_id)
            settled = all(_handled(event) for event in _walk(roots))
            if not settled and any(event.status == "Schedule" for event in _walk(roots)):
                try:
                    relay_in_process()  # what the relay's next sweep would do; harmless if it ran already
                except BrokerUnavailable as exc:
                    self.out.write(self.style.WARNING(f"  broker unavailable, events stay pending: {exc}"))
            if settled or time.monotonic() > deadline:
                return roots, settled
            time.sleep(0.05)

    def print_event(self, event: TracedEvent, *, depth: int) -> None:
        pad = "    " + "   " * depth
        branch = "└─ " if depth else ""
        status = EVENT_STATUS.get(event.status, event.status)
        self.out.write(f"{pad}{branch}{event.type}  subject {event.subject}  [{status}]")
        handled = dict(event.handled_by)
        expected = _subscribers(event.type)
        parts = [f"{module} ✓" if handled[module] == "Succeeded" else f"{module} ✗ failed" for module in handled]
        parts += [f"{module} … waiting" for module in expected if module not in handled]
        reaction = ", ".join(parts) if parts else "no module subscribes to it"
        self.out.write(f"{pad}{'   ' if depth else ''}   handled by: {reaction}")
        for child in event.children:
            self.print_event(child, depth=depth + 1)


def _walk(events: list[TracedEvent]) -> Iterator[TracedEvent]:
    for event in events:
        yield event
        yield from _walk(event.children)


def _subscribers(routing_key: str) -> list[str]:
    return [module for module in consuming_modules() if routing_key in routing_keys(module)]


def _handled(event: TracedEvent) -> bool:
    handled = {module for module, _ in event.handled_by}
    return event.status == "Succeeded" and all(module in handled for module in _subscribers(event.type))


def _summary(body: Any) -> str:
    if not isinstance(body, dict):
        return json.dumps(body)
    hidden = {"token", "api_key"}
    shown = {key: ("<secret, shown once>" if key in hidden else value) for key, value in body.items()}
    shown.pop("recent_transactions", None)
    return json.dumps(shown, default=str)


def _allowed_host() -> str:
    """A Host header this configuration accepts, for the in-process requests."""
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*" and not host.startswith("."):
            return host
    return "localhost"


def _safe_url(url: str) -> str:
    """The broker URL without its password."""
    scheme, _, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}@{location}" if at else url
