import os
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.utils import timezone

from apps.members.public import member_id_by_email, member_register
from apps.merchants.public import MerchantUnknown, merchant_id_by_email, merchant_register
from apps.payments.public import (
    BankConfirmation,
    bank_payment_confirm,
    payment_create,
    refund_issue,
    topup_create,
)
from apps.wallet.public import balance_of
from blipay.events.consumers import drain
from blipay.events.context import caused_by
from blipay.events.errors import BrokerUnavailable

T = TypeVar("T")

CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"
MERCHANTS = [("kopi", "Warung Kopi Nusantara"), ("buku", "Toko Buku Senja")]
MEMBERS = [("ani", "Ani Wijaya", "+6281234567890"), ("budi", "Budi Santoso", "+6281398765432")]
DOMAIN = "demo.blipay.test"
PENDING_TOPUP = 250_000  # left for `bank_confirm`


class Command(BaseCommand):
    help = (
        "Load the demo data a newcomer can click through, and make sure the admin login "
        "exists (user and password from BLIPAY_ADMIN_USER / BLIPAY_ADMIN_PASSWORD, default "
        "admin / admin). The demo data is made through the modules' public.py, so its events and "
        "ledger are real: two merchants, two members with a funded balance, payments, a refund, "
        "two bank confirmations we refused (the admin lists them under bank notifications, result: "
        "refused), and a top-up left pending for `manage.py bank_confirm`. Every event is "
        "relayed and applied by every module before the command ends. The members' tokens and "
        "merchants' API keys are printed once, when created. Safe to run again: what exists "
        f"(by its @{DOMAIN} email) is left as it is. Refused under BLIPAY_ENV=production."
    )

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            # Demo members with known tokens and an admin with a known password have no
            # place on a production server.
            raise CommandError(
                "BLIPAY_ENV=production: load_demo would make demo data and an admin with a default password, "
                "so it is refused. Create the admin with `manage.py createsuperuser`."
            )
        self._admin_user()
        with ExitStack() as stack:
            if settings.EMAIL_BACKEND == CONSOLE_EMAIL:
                # One line per email instead of whole messages on the console.
                stack.enter_context(override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"))
            mails_before = len(getattr(mail, "outbox", []))
            demo = DemoData(self)
            try:
                loaded = demo.load()
            except BrokerUnavailable as exc:
                raise CommandError(
                    f"the broker at {settings.BROKER_URL.split('@')[-1]} is unreachable ({exc}); what was made so far "
                    "is committed and its events wait in the outbox. Start the broker and run load_demo again."
                ) from exc
            sent = getattr(mail, "outbox", [])[mails_before:]
            if sent:
                self.stdout.write("emails sent:")
            for message in sent:
                self.stdout.write(f"  to {', '.join(message.to)}: {message.subject}")
            demo.report(loaded)

    def _admin_user(self) -> None:
        username = os.environ.get("BLIPAY_ADMIN_USER", "admin")
        password = os.environ.get("BLIPAY_ADMIN_PASSWORD", "admin")
        users = get_user_model().objects
        if not users.filter(username=username).exists():
            users.create_superuser(username=username, email=f"{username}@blipay.test", password=password)
            self.stdout.write(f"created the admin user {username!r}")
        self.stdout.write(self.style.SUCCESS(f"admin login: {username} / {password}"))


@dataclass(frozen=True)
class Made:
    id: str
    secret: str | None  # the token or API key: known only when made by this run


@dataclass(frozen=True)
class Loaded:
    merchants: dict[str, Made]
    members: dict[str, Made]
    pending_reference: str | None  # a top-up left for `bank_confirm`


class DemoData:
    def __init__(self, command: BaseCommand) -> None:
        self.out = command.stdout
        self.style = command.style
        self.run = uuid.uuid4().hex[:6]
        self.steps = 0

    def load(self) -> Loaded:
        merchants = {key: self.merchant(key, name) for key, name in MERCHANTS}
        self.pump()  # payments must know the merchants (merchant.saved) before anyone pays them
        members = {key: self.member(key, name, phone) for key, name, phone in MEMBERS}
        self.pump()
        # A member's money flows are made with the member: an existing member is left alone.
        pending_reference = None
        if members["ani"].secret:
            ani = members["ani"].id
            self.top_up(ani, 500_000)
            self.pay(ani, merchants["kopi"].id, 45_000, "3x kopi susu gula aren")
            book = self.pay(ani, merchants["buku"].id, 120_000, "Novel: Laut Bercerita")
            self.refund(book, 40_000, "cover damaged in delivery")
            pending_reference = self.step(topup_create, member_id=ani, amount=PENDING_TOPUP).reference
            self.bank(pending_reference, 205_000)  # refused: amount mismatch
            self.bank("BLPNOSUCHREF99", 75_000)  # refused: unknown reference
        if members["budi"].secret:
            budi = members["budi"].id
            self.top_up(budi, 200_000)
            self.pay(budi, merchants["kopi"].id, 25_000, "Es kopi")
        self.pump()
        return Loaded(merchants, members, pending_reference)

    def step(self, service: Callable[..., T], **kwargs: object) -> T:
        """Run one service call as its own request would: its events share a correlation id."""
        self.steps += 1
        with caused_by(correlation_id=f"load-demo-{self.run}-{self.steps}", causation_id=None, traceparent=None):
            return service(**kwargs)

    def merchant(self, key: str, name: str) -> Made:
        email = f"{key}@{DOMAIN}"
        existing = merchant_id_by_email(email=email)
        if existing:
            return Made(existing, None)
        registered = self.step(merchant_register, name=name, email=email)
        return Made(registered.id, registered.api_key)

    def member(self, key: str, name: str, phone: str) -> Made:
        email = f"{key}@{DOMAIN}"
        existing = member_id_by_email(email=email)
        if existing:
            return Made(existing, None)
        registered = self.step(member_register, name=name, email=email, phone=phone)
        return Made(registered.id, registered.token)

    def top_up(self, member_id: str, amount: int) -> None:
        topup = self.step(topup_create, member_id=member_id, amount=amount)
        confirmation = self.bank(topup.reference, amount)
        if not confirmation.credited:
            raise RuntimeError(f"the demo top-up was not credited: {confirmation.message}")
        self.pump()

    def bank(self, reference: str, amount: int) -> BankConfirmation:
        """What the bank's signed confirmation leads to (the signature is the API's concern)."""
        bank_transaction_id = f"DEMO-{uuid.uuid4().hex[:12].upper()}"
        payload = {
            "reference": reference,
            "amount": amount,
            "status": "paid",
            "bank_transaction_id": bank_transaction_id,
            "paid_at": timezone.now().isoformat(),
        }
        return self.step(
            bank_payment_confirm,
            reference=reference,
            amount=amount,
            bank_transaction_id=bank_transaction_id,
            paid_at=timezone.now(),
            payload=payload,
        )

    def pay(self, member_id: str, merchant_id: str, amount: int, description: str) -> str:
        for _ in range(50):
            try:
                payment_id = self.step(
                    payment_create,
                    member_id=member_id,
                    merchant_id=merchant_id,
                    amount=amount,
                    description=description,
                )
            except MerchantUnknown:
                # A consumer of another process may still be applying merchant.saved.
                self.pump(wait=0.2)
                continue
            self.pump()
            return payment_id
        raise MerchantUnknown()

    def refund(self, payment_id: str, amount: int, reason: str) -> None:
        self.step(refund_issue, payment_id=payment_id, amount=amount, reason=reason)
        self.pump()

    def pump(self, *, wait: float = 0.0) -> None:
        """Relay what is pending, then apply what reached each module's queue, until nothing
        moves. The in-process broker's queues die with this process, so nothing may be left."""
        time.sleep(wait)
        drain()

    def report(self, loaded: Loaded) -> None:
        merchants, members, pending_reference = loaded.merchants, loaded.members, loaded.pending_reference
        if not any(made.secret for made in [*merchants.values(), *members.values()]):
            self.out.write(
                f"demo data already loaded (merchants and members @{DOMAIN}); their tokens were shown when "
                "they were created and can't be shown again (only hashes are stored)"
            )
            return
        self.out.write(self.style.SUCCESS("demo data loaded (every event relayed and applied):"))
        for (key, name), made in zip(MERCHANTS, merchants.values(), strict=True):
            secret = f"API key: {made.secret}" if made.secret else "existed already"
            self.out.write(f"  merchant {name} <{key}@{DOMAIN}>  id {made.id}  {secret}")
        for (key, name, _), made in zip(MEMBERS, members.values(), strict=True):
            secret = f"token: {made.secret}" if made.secret else "existed already"
            balance = balance_of(member_id=made.id)
            self.out.write(f"  member {name} <{key}@{DOMAIN}>  id {made.id}  balance Rp {balance:,}  {secret}")
        self.out.write("  tokens and API keys are shown only this once: only their hashes are stored")
        if pending_reference:
            # The amount and the URL spelled out: the shell it is pasted into may lack this
            # one's DATABASE_URL and PORT.
            self.out.write(
                f"  a top-up waits for the bank: while the server runs, finish it with\n"
                f"    .venv/bin/python manage.py bank_confirm {pending_reference} --amount {PENDING_TOPUP} "
                f"--url http://127.0.0.1:{settings.PORT}"
            )
