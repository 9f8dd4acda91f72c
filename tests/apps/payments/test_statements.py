"""What a payment costs the database, held so it can't creep back: 13 statements per payment
before issue 11, 7 since (BEGIN, the payment's INSERT that also checks the merchant, the
balance change, the ledger line, its two entries in one INSERT, the three events in one
outbox INSERT, COMMIT). The relay's kick after the commit is the backbone's and not counted
here (one SELECT while a kick is already queued, the common case under load)."""

import uuid

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_relay_kick(settings):
    settings.BLIPAY_EVENTS = {**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False}


def _pay(member, merchant, **headers):
    body = {"merchant_id": merchant.id, "amount": 1_000, "description": "kopi"}
    return member.client.post("/api/v1/payments", body, format="json", **headers)


def test_a_payment_runs_at_most_seven_statements_and_one_more_for_a_new_caller(
    register_member, register_merchant, credit, django_assert_max_num_queries
):
    ani, budi, kopi = register_member(), register_member(), register_merchant()
    credit(ani, 100_000)
    credit(budi, 100_000)
    assert _pay(budi, kopi).status_code == 201  # the merchant's first payment opens its account

    with django_assert_max_num_queries(7 + 1):  # + the caller's credential, then remembered
        assert _pay(ani, kopi).status_code == 201
    with django_assert_max_num_queries(7):
        assert _pay(ani, kopi).status_code == 201


def test_a_payment_with_an_idempotency_key_adds_the_records_statements_only(
    register_member, register_merchant, credit, django_assert_max_num_queries
):
    ani, kopi = register_member(), register_merchant()
    credit(ani, 100_000)
    assert _pay(ani, kopi).status_code == 201

    # + the key's reservation (autocommit), its lock, the savepoint around the payment (so a
    # refusal is undone and still kept) and its release, storing the response.
    with django_assert_max_num_queries(7 + 5):
        assert _pay(ani, kopi, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())).status_code == 201
