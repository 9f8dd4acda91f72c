import json
import os
import re
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apps.members.models import Member
from apps.members.services import member_register
from apps.merchants.models import Merchant
from apps.overview.models import MemberOverview
from apps.payments.models import BankNotification, Payment, Refund, TopUp
from apps.payments.services import topup_create
from apps.payments.signatures import bank_signature_verify
from apps.wallet.public import balance_of
from blipay.events.consumers import consumers_in_threads
from blipay.events.monitoring import outbox_status
from tests.helpers import purge_module_queues

pytestmark = pytest.mark.django_db(transaction=True)

EMBEDDED = settings.BROKER_URL.startswith("memory://")


@pytest.fixture(autouse=True)
def _clean_queues():
    purge_module_queues()
    yield
    purge_module_queues()


@pytest.fixture
def running_consumers():
    """What `make run` has on a real broker: every module's consumer. The embedded broker
    only reaches consumers in the same process, so there the demo runs its own."""
    if EMBEDDED:
        yield
        return
    with consumers_in_threads():
        yield


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


# --- blipay_demo -------------------------------------------------------------------------


def test_blipay_demo_runs_the_five_flows_and_shows_who_handled_each_event(running_consumers):
    output = run("blipay_demo", wait=15)

    headings = [
        "1. A merchant registers",
        "2. A member registers",
        "3. The member tops up by bank transfer; the bank confirms (signed)",
        "4. The member pays the merchant",
        "5. The merchant refunds part of the payment",
        "The member with the balance",
    ]
    positions = [output.index(heading) for heading in headings]
    assert positions == sorted(positions)
    calls = re.findall(r"→ (\w+ \S+) .*X-Request-ID: (demo-\w+-\d+)", output)
    assert [call for call, _ in calls] == [
        "POST /api/v1/merchants",
        "POST /api/v1/members",
        "POST /api/v1/topups",
        "POST /api/v1/bank/notifications",
        "POST /api/v1/payments",
        f"POST {calls[5][0].split()[1]}",
        f"GET {calls[6][0].split()[1]}",
    ]
    assert calls[5][0].endswith("/refunds")
    assert len({request_id for _, request_id in calls}) == 7
    assert re.findall(r"← (\d+)", output) == ["201", "201", "201", "200", "201", "201", "200"]
    # Each step's events with the modules that reacted, read from the trace, not hard-coded.
    assert re.search(r"merchant\.saved\.v1 .*\n\s+handled by: .*payments ✓", output)
    assert re.search(r"member\.saved\.v1 .*\n\s+handled by: .*overview ✓", output)
    assert re.search(r"wallet\.balance_changed\.v1 .*\n\s+handled by: .*overview ✓", output)
    assert "payment.saved.v1" in output
    assert "refund.saved.v1" in output
    assert "… waiting" not in output
    assert "not all handled" not in output
    assert "balance: Rp 80,000" in output
    assert "mbr_" not in output  # tokens are not echoed
    assert "mch_" not in output


def test_blipay_demo_events_are_traceable_by_the_printed_request_ids(running_consumers):
    output = run("blipay_demo", wait=15)
    request_id = re.search(r"X-Request-ID: (demo-\w+-4)", output).group(1)  # the bank's confirmation

    traced = run("events", "trace", request_id)

    assert "wallet.balance_changed.v1" in traced
    assert "topup.saved.v1" in traced


@pytest.mark.rabbitmq  # on the embedded broker the demo always runs its own consumers
def test_blipay_demo_says_when_no_consumer_handles_the_events():
    # Every step still succeeds (a merchant is payable as soon as it is registered); what
    # no consumer handled is said at the end.
    output = run("blipay_demo", wait=0.5)

    assert "had events no consumer handled within 0.5s: are the consumers running?" in output


# --- bank_confirm ------------------------------------------------------------------------


class Bank:
    """A tiny HTTP server on 127.0.0.1 that records what it is sent and answers as told."""

    def __init__(self, status: int = 200, answer: dict | None = None) -> None:
        self.requests: list[dict] = []
        bank = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                bank.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                raw = json.dumps(answer or {"outcome": "credited"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bank():
    servers = []

    def start(**kwargs) -> Bank:
        servers.append(Bank(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def topup():
    return topup_create(member_id=str(uuid.uuid4()), amount=150_000)


def test_bank_confirm_posts_a_correctly_signed_confirmation_for_the_topups_amount(bank, topup):
    server = bank()

    output = run("bank_confirm", topup.reference, url=server.url)

    [request] = server.requests
    assert request["path"] == "/api/v1/bank/notifications"
    assert request["headers"]["Content-Type"] == "application/json"
    bank_signature_verify(raw_body=request["body"], header=request["headers"]["X-Bank-Signature"])  # no raise
    body = json.loads(request["body"])
    assert body["reference"] == topup.reference
    assert body["amount"] == 150_000
    assert body["status"] == "paid"
    assert body["bank_transaction_id"]
    assert body["paid_at"]
    assert "→ 200" in output
    assert "credited" in output


def test_bank_confirm_sends_the_given_amount_and_bank_transaction_id(bank, topup):
    server = bank()

    run("bank_confirm", topup.reference, amount=149_000, bank_transaction_id="BCA-0001", url=server.url)

    body = json.loads(server.requests[0]["body"])
    assert (body["amount"], body["bank_transaction_id"]) == (149_000, "BCA-0001")


def test_bank_confirm_prints_a_refusal_and_fails(bank, topup):
    answer = {"error": {"code": "amount_mismatch", "message": "nothing was credited"}}
    server = bank(status=422, answer=answer)
    out = StringIO()

    with pytest.raises(CommandError, match="refused"):
        call_command("bank_confirm", topup.reference, amount=1, url=server.url, stdout=out)

    assert "→ 422" in out.getvalue()
    assert "amount_mismatch" in out.getvalue()


def test_bank_confirm_of_an_unknown_reference_needs_an_amount(bank):
    server = bank()

    with pytest.raises(CommandError, match="--amount"):
        run("bank_confirm", "BLPNOSUCHREF", url=server.url)

    assert server.requests == []


def test_bank_confirm_says_when_nothing_listens(bank, topup):
    server = bank()
    url = server.url
    server.close()

    with pytest.raises(CommandError, match="could not reach"):
        run("bank_confirm", topup.reference, url=url, timeout=2)


def test_bank_confirm_credits_a_topup_on_a_running_server(live_server):
    member = member_register(name="Ani Wijaya", email="ani@example.id", phone="+6281234567890").member
    pending = topup_create(member_id=str(member.id), amount=75_000)

    output = run("bank_confirm", pending.reference, url=live_server.url)

    assert "→ 200" in output
    assert TopUp.objects.get(id=pending.id).status == TopUp.PAID
    assert balance_of(member_id=str(member.id)) == 75_000


# --- load_demo ---------------------------------------------------------------------------


def test_load_demo_makes_real_data_through_the_services_and_prints_the_secrets_once(settings):
    settings.PORT = 8123
    output = run("load_demo")

    assert "admin login: admin / admin" in output
    assert len(re.findall(r"token: mbr_\S+", output)) == 2
    assert len(re.findall(r"API key: mch_\S+", output)) == 2
    # The hint works as printed, in another shell, against the server on this port.
    assert re.search(
        r"\.venv/bin/python manage\.py bank_confirm BLP\w+ --amount 250000 --url http://127\.0\.0\.1:8123\n", output
    )
    ani = Member.objects.get(email="ani@demo.blipay.test")
    budi = Member.objects.get(email="budi@demo.blipay.test")
    assert balance_of(member_id=str(ani.id)) == 375_000
    assert balance_of(member_id=str(budi.id)) == 175_000
    assert Payment.objects.count() == 3
    assert Refund.objects.count() == 1
    assert TopUp.objects.filter(status=TopUp.PENDING).count() == 1
    assert BankNotification.objects.exclude(outcome=BankNotification.CREDITED).count() == 2
    # Every event was relayed and applied before the command ended: the read model is current.
    assert outbox_status(with_queues=False).pending == 0
    assert MemberOverview.objects.get(member_id=ani.id).balance == 375_000


def test_load_demo_again_adds_nothing_and_says_so():
    run("load_demo")
    counts = (Member.objects.count(), Merchant.objects.count(), Payment.objects.count(), TopUp.objects.count())

    output = run("load_demo")

    assert "already loaded" in output
    assert "mbr_" not in output
    assert (Member.objects.count(), Merchant.objects.count(), Payment.objects.count(), TopUp.objects.count()) == counts


def test_load_demo_is_refused_in_production_and_creates_no_admin_and_no_demo_data(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match=r"BLIPAY_ENV=production.*createsuperuser"):
        run("load_demo")

    assert not get_user_model().objects.exists()
    assert not Member.objects.exists()
    assert not Merchant.objects.exists()


def test_make_run_in_production_skips_the_demo_and_its_admin():
    commands = subprocess.run(
        ["make", "-n", "run"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "BLIPAY_ENV": "production"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert "load_demo" not in commands
    assert "manage.py serve" in commands
