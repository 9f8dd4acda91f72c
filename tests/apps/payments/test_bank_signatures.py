"""The bank's signature, checked without HTTP: the current secret, or during a rotation the
previous one; anything else is refused."""

import hashlib
import hmac
import time

import pytest

from apps.payments.errors import InvalidSignature
from apps.payments.signatures import bank_signature, bank_signature_verify

BODY = b'{"reference": "BLPX", "amount": 10000}'


@pytest.fixture
def rotation(settings):
    settings.BLIPAY_BANK_WEBHOOK_SECRET = "new-secret"
    settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS = "old-secret"


def _signed(secret: str, *, age: int = 0) -> str:
    return bank_signature(raw_body=BODY, timestamp=int(time.time()) - age, secret=secret)


def test_during_a_rotation_a_signature_with_the_current_secret_is_accepted(rotation):
    bank_signature_verify(raw_body=BODY, header=_signed("new-secret"))  # no raise


def test_during_a_rotation_a_signature_with_the_previous_secret_is_accepted(rotation):
    bank_signature_verify(raw_body=BODY, header=_signed("old-secret"))  # no raise


def test_during_a_rotation_a_signature_with_neither_secret_is_refused(rotation):
    with pytest.raises(InvalidSignature):
        bank_signature_verify(raw_body=BODY, header=_signed("someone-elses-secret"))


def test_once_the_rotation_is_over_the_old_secret_is_refused(settings):
    settings.BLIPAY_BANK_WEBHOOK_SECRET = "new-secret"
    settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS = ""

    with pytest.raises(InvalidSignature):
        bank_signature_verify(raw_body=BODY, header=_signed("old-secret"))


def test_our_own_signatures_use_the_current_secret(rotation):
    header = bank_signature(raw_body=BODY, timestamp=1_700_000_000)

    assert header == bank_signature(raw_body=BODY, timestamp=1_700_000_000, secret="new-secret")


def test_a_signature_with_the_previous_secret_still_expires(rotation):
    with pytest.raises(InvalidSignature):
        bank_signature_verify(raw_body=BODY, header=_signed("old-secret", age=301))


def test_a_signature_for_another_body_is_refused(rotation):
    with pytest.raises(InvalidSignature):
        bank_signature_verify(raw_body=BODY + b" ", header=_signed("old-secret"))


def test_the_signature_is_hmac_sha256_of_the_timestamp_a_dot_and_the_raw_body():
    # An independent computation of what the contract says the bank sends.
    digest = hmac.new(b"new-secret", b"1700000000." + BODY, hashlib.sha256).hexdigest()

    assert bank_signature(raw_body=BODY, timestamp=1_700_000_000, secret="new-secret") == f"t=1700000000,v1={digest}"


@pytest.mark.parametrize(("offset", "accepted"), [(-300, True), (300, True), (-301, False), (301, False)])
def test_a_signature_is_accepted_up_to_300_seconds_either_side_of_now(rotation, offset, accepted):
    now = 1_700_000_000
    header = bank_signature(raw_body=BODY, timestamp=now + offset)

    if accepted:
        bank_signature_verify(raw_body=BODY, header=header, now=now)
    else:
        with pytest.raises(InvalidSignature):
            bank_signature_verify(raw_body=BODY, header=header, now=now)


def test_the_parts_of_the_header_may_come_in_any_order(rotation):
    t, v1 = bank_signature(raw_body=BODY, timestamp=int(time.time())).split(",")

    bank_signature_verify(raw_body=BODY, header=f"{v1},{t}")  # no raise


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "v1=abc",
        "t=1700000000",
        "t=soon,v1=abc",
        "t=1700000000;v1=abc",
        "t 1700000000,v1 abc",
        "t=1700000000=1,v1=abc",
    ],
)
def test_a_header_without_a_timestamp_and_a_signature_is_refused(rotation, header):
    with pytest.raises(InvalidSignature):
        bank_signature_verify(raw_body=BODY, header=header, now=1_700_000_000)


def test_a_signature_checked_against_an_empty_secret_is_refused(settings):
    settings.BLIPAY_BANK_WEBHOOK_SECRET = "new-secret"
    settings.BLIPAY_BANK_WEBHOOK_SECRET_PREVIOUS = ""

    with pytest.raises(InvalidSignature):
        bank_signature_verify(raw_body=BODY, header=_signed(""))
