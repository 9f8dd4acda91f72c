"""Bad input, found by a tool no one here wrote: schemathesis generates requests from the
served OpenAPI schema (valid ones, and ones that break it on purpose) and runs every one of
its checks on each answer: no 5xx, every status documented, every body (errors included)
matching the schema, schema-valid requests accepted, schema-invalid ones refused, required
headers and auth honoured, undocumented methods refused.

It runs in-process against the WSGI app, deterministically (a fixed seed, derandomized,
a bounded number of examples), with rate limits off. Each operation is called with a real
caller's credential: a member's token, a merchant's API key, a staff token, rotating among
the kinds the operation allows, and an operation on an object is pointed at an object that
caller owns. The bank's confirmations are signed, so their handler is fuzzed too. A second
test walks the schema's links statefully: a member registers, and the token it gets back is
what the calls on that member's own objects use.
"""

import json
import time
import uuid
from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils.dateparse import parse_datetime
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, assume
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode

from apps.payments.signatures import bank_signature
from blipay.identity.credentials import credential_issue
from blipay.identity.models import Credential
from tests.apps.wallet import factories as wallet

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 20261125
EXAMPLES = 15  # per operation and generation mode, besides schemathesis' coverage cases

CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
    "checks": {
        # The contract answers 422 to a well-formed request a business rule refuses (not
        # enough balance, an unknown merchant, a refund past the payment): no schema can say
        # which amounts a balance covers, so that status is an accepted answer to valid data.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]},
    },
}

# Which kind of caller each bearer scheme in the schema stands for.
SCHEME_KINDS = {"memberToken": "member", "merchantApiKey": "merchant", "staffToken": "staff"}
# Which of the callers' own objects a path parameter names.
OWNED = {"member_id": "member", "merchant_id": "merchant", "payment_id": "payment", "topup_id": "topup"}


@pytest.fixture
def callers(register_member, register_merchant, pump) -> dict[str, Any]:
    """A member with money and a top-up, a merchant it paid, and a staff token."""
    member = register_member()
    merchant = register_merchant()
    wallet.credit(member.id, 500_000)
    pump()
    topup = member.client.post("/api/v1/topups", {"amount": 10_000}, format="json").json()
    payment = member.client.post(
        "/api/v1/payments", {"merchant_id": merchant.id, "amount": 100_000}, format="json"
    ).json()
    return {
        "tokens": {
            "member": member.token,
            "merchant": merchant.token,
            "staff": credential_issue(kind=Credential.STAFF, subject="1"),
        },
        "ids": {"member": member.id, "merchant": merchant.id, "payment": payment["id"], "topup": topup["id"]},
    }


@pytest.fixture
def in_process(callers, settings):
    """The callers, once made; then rate limits off and, as Django's test client does during
    a request, the app keeps the test's database connection between requests (so a case can
    run in a transaction that is rolled back)."""
    settings.BLIPAY_RATE_LIMITS = None
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield callers
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _served_schema() -> dict:
    """What /api/schema/ serves (made by the same generator, here at collection time, when
    the database is not open yet for a request through the middleware to reach)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


schema = schemathesis.openapi.from_dict(_served_schema(), config=schemathesis.Config.from_dict(CONFIG))
schema.app = get_wsgi_application()
CASES: Counter = Counter()


def _kinds(case: schemathesis.Case) -> list[str]:
    security = case.operation.definition.raw.get("security") or []
    return [SCHEME_KINDS[name] for requirement in security for name in requirement]


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _as_caller(case: schemathesis.Case, callers: dict[str, Any], *, own_objects: bool = True) -> dict[str, Any]:
    """Headers and body for sending ``case`` as a real caller; with ``own_objects``, a valid
    id in its path is replaced by one of that caller's own objects."""
    kinds = _kinds(case)
    extra: dict[str, Any] = {}
    headers = dict(case.headers or {})
    if kinds:
        kind = kinds[CASES[case.operation.label] % len(kinds)]
        headers["Authorization"] = f"Bearer {callers['tokens'][kind]}"
        for name, value in (case.path_parameters or {}).items():
            # A valid id is pointed at an object the caller may see (someone else's is the
            # BOLA matrix's business); an invalid one is left for the router to refuse.
            if own_objects and name in OWNED and _is_uuid(value):
                case.path_parameters[name] = callers["ids"][OWNED[name]]
    if case.operation.path == "/api/v1/bank/notifications" and case.meta.generation.mode == GenerationMode.POSITIVE:
        raw = json.dumps(case.body).encode()
        headers["X-Bank-Signature"] = bank_signature(raw_body=raw, timestamp=int(time.time()))
        extra["data"] = raw
    if case.operation.path == "/api/v1/promotions" and case.meta.generation.mode == GenerationMode.POSITIVE:
        # A window must end after it starts: a rule between two fields no JSON schema states.
        assume(parse_datetime(case.body["ends_at"]) > parse_datetime(case.body["starts_at"]))
    if case.query and case.meta.generation.mode == GenerationMode.POSITIVE:
        # A cursor is opaque (it comes from a page's `next`): a made-up one is refused, 400.
        case.query.pop("cursor", None)
    extra["headers"] = headers
    return extra


@schema.parametrize()
@hypothesis_settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_answers_only_what_its_schema_documents(case, in_process):
    kwargs = _as_caller(case, in_process)
    CASES[case.operation.label] += 1
    with transaction.atomic():  # each case starts from the same database
        case.call_and_validate(**kwargs)
        transaction.set_rollback(True)


class OwnersWalk(schema.as_state_machine()):
    """A walk along the schema's links (register → read, change, pay, refund …). Whoever
    creates an object owns it: a registration's token or API key, or the caller that made
    it, is what the calls naming that object use; a payment's refunds use its merchant's key."""

    callers: dict[str, Any]

    def setup(self) -> None:
        # Each scenario starts from the same database (so a failure replays as it happened).
        self.scenario = transaction.atomic()
        self.scenario.__enter__()
        self.owner: dict[str, str] = {}  # object id → the Authorization its calls use
        self.refunder: dict[str, str] = {}  # payment id → its merchant's Authorization

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.scenario.__exit__(None, None, None)

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        kwargs = _as_caller(case, self.callers, own_objects=False)
        params = case.path_parameters or {}
        known = self.refunder if case.operation.path.endswith("/refunds") else self.owner
        for value in params.values():
            if str(value) in known:
                kwargs["headers"]["Authorization"] = known[str(value)]
        return kwargs

    def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
        # The headers we send are ours, not generated: the checks must know it.
        case.validate_response(response, headers=kwargs.get("headers"), transport_kwargs=kwargs)

    def after_call(self, response: Any, case: schemathesis.Case) -> None:
        super().after_call(response, case)
        if response.status_code != 201:
            return
        body = response.json()
        secret = body.get("token") or body.get("api_key")
        sent = (case.headers or {}).get("Authorization")
        self.owner[body["id"]] = f"Bearer {secret}" if secret else sent
        if "merchant_id" in body and body["merchant_id"] in self.owner:
            self.refunder[body["id"]] = self.owner[body["merchant_id"]]


def test_walking_the_links_each_owner_reaches_its_own_objects(in_process):
    OwnersWalk.callers = in_process
    OwnersWalk.run(
        settings=hypothesis_settings(
            max_examples=EXAMPLES,
            stateful_step_count=6,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_the_schema_fuzzed_is_the_one_served(client):
    served = client.get("/api/schema/", {"format": "json"}).json()

    assert served == _served_schema()
