"""The signed identity a service trusts: bound to one request, short-lived, used once."""

import time

import pytest

from blipay.identity.internal import Caller, IdentityRefused, sign, verify

pytestmark = pytest.mark.django_db

ANI = Caller(kind="member", id="0b9d4f6e-0000-4000-8000-000000000001")


def _signed(**overrides) -> str:
    return sign(**{"method": "GET", "path": "/api/v1/x", "query": "a=1", "body": b"", "caller": ANI} | overrides)


def _verify(header: str, **overrides) -> Caller:
    return verify(header, **{"method": "GET", "path": "/api/v1/x", "query": "a=1", "body": b""} | overrides)


def test_a_signed_identity_names_the_caller_once_and_never_again():
    header = _signed()

    assert _verify(header) == ANI
    with pytest.raises(IdentityRefused, match="replayed"):
        _verify(header)


def test_no_used_identity_is_accepted_again_however_many_came_since():
    # A store that makes room by dropping live entries (Django's database cache culls a
    # third past 300) would let old headers through again.
    headers = [_signed() for _ in range(400)]
    for header in headers:
        _verify(header)

    replayed = 0
    for header in headers:
        try:
            _verify(header)
            replayed += 1
        except IdentityRefused:
            pass
    assert replayed == 0


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"method": "POST"}, "another request"),
        ({"path": "/api/v1/y"}, "another request"),
        ({"query": "a=2"}, "another request"),
        ({"body": b"{}"}, "another request"),
    ],
)
def test_an_identity_signed_for_another_request_is_refused(overrides, reason):
    with pytest.raises(IdentityRefused, match=reason):
        _verify(_signed(), **overrides)


def test_an_expired_or_forged_identity_is_refused(settings):
    with pytest.raises(IdentityRefused, match="expired"):
        _verify(_signed(now=time.time() - 31))
    with pytest.raises(IdentityRefused, match="bad signature"):
        _verify(_signed()[:-2] + "xx")
    settings.BLIPAY_INTERNAL_KEY = "someone-elses-key"
    forged = _signed()
    settings.BLIPAY_INTERNAL_KEY = "blipay-dev-internal-key"
    with pytest.raises(IdentityRefused, match="unknown key"):
        _verify(forged)


def test_during_a_rotation_both_keys_are_accepted_and_afterwards_only_the_new_one(settings):
    old_key = settings.BLIPAY_INTERNAL_KEY
    signed_with_old = [_signed(), _signed()]
    settings.BLIPAY_INTERNAL_KEY, settings.BLIPAY_INTERNAL_KEY_PREVIOUS = "the-new-key", old_key

    assert _verify(signed_with_old[0]) == ANI
    assert _verify(_signed()) == ANI
    settings.BLIPAY_INTERNAL_KEY_PREVIOUS = None  # the rotation is over
    with pytest.raises(IdentityRefused, match="unknown key"):
        _verify(signed_with_old[1])
