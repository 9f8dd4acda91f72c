import json
import time
import urllib.error
import urllib.request
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.payments.models import TopUp
from apps.payments.signatures import bank_signature

PATH = "/api/v1/bank/notifications"


class Command(BaseCommand):
    help = (
        "Play the bank: send a correctly signed payment confirmation for a top-up reference to "
        "a running Blipay, over HTTP, exactly as the bank would (contract: POST "
        f"{PATH}, signed with BLIPAY_BANK_WEBHOOK_SECRET in X-Bank-Signature), and print the "
        "answer. Ask for a top-up first (POST /api/v1/topups, or `make run` prints a pending "
        "one), then: `python manage.py bank_confirm BLPXXXXXXXXXX`. The same "
        "--bank-transaction-id sent again is a bank retry: the balance is credited once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="the top-up's reference, as the member quoted it in the transfer")
        parser.add_argument(
            "--amount",
            type=int,
            help="the transferred amount in rupiah (default: the top-up's own amount, read from this "
            "database; give another one to see the 422 amount_mismatch refusal)",
        )
        parser.add_argument(
            "--bank-transaction-id",
            help="the bank's id of the transfer (default: a new random one; repeat one to play a retry)",
        )
        parser.add_argument(
            "--url",
            default=f"http://127.0.0.1:{settings.PORT}",
            help="the running Blipay (default: http://127.0.0.1:$PORT, i.e. %(default)s)",
        )
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer (default 10)")

    def handle(
        self,
        *args,
        reference: str,
        amount: int | None,
        bank_transaction_id: str | None,
        url: str,
        timeout: float,
        **options,
    ) -> None:
        if amount is None:
            amount = TopUp.objects.filter(reference=reference).values_list("amount", flat=True).first()
            if amount is None:
                raise CommandError(
                    f"no top-up has the reference {reference!r} in this database; "
                    "pass --amount to send the confirmation anyway (the server will answer 404 unknown_reference)"
                )
        body = {
            "reference": reference,
            "amount": amount,
            "status": "paid",
            "bank_transaction_id": bank_transaction_id or f"DEMO-{uuid.uuid4().hex[:16].upper()}",
            "paid_at": timezone.now().isoformat(),
        }
        raw = json.dumps(body).encode()
        request_id = f"bank-{uuid.uuid4().hex[:12]}"
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own server
            url.rstrip("/") + PATH,
            data=raw,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Bank-Signature": bank_signature(raw_body=raw, timestamp=int(time.time())),
                "X-Request-ID": request_id,
            },
        )
        self.stdout.write(f"POST {request.full_url}\n{json.dumps(body, indent=2)}")
        status, answer = _send(request, timeout=timeout)
        self.stdout.write(f"→ {status}\n{answer}")
        if status >= 400:
            raise CommandError(f"the confirmation was refused ({status})")
        self.stdout.write(
            self.style.SUCCESS(f"confirmed; follow the events: python manage.py events trace {request_id}")
        )


def _send(request: urllib.request.Request, *, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - see above
            return response.status, _pretty(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, _pretty(refused.read())
    except (urllib.error.URLError, TimeoutError) as exc:
        raise CommandError(
            f"could not reach {request.full_url}: {getattr(exc, 'reason', exc)}. Is Blipay running (make run)? "
            "Use --url for another address."
        ) from exc


def _pretty(raw: bytes) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2)
    except ValueError:
        return raw.decode(errors="replace")
