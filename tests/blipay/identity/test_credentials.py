import time

import pytest
from django.utils import timezone

from blipay.identity import credentials
from blipay.identity.models import Credential

pytestmark = pytest.mark.django_db


def test_a_revoked_credential_is_refused_at_once_and_by_the_strangler_within_its_recent_window(monkeypatch):
    monkeypatch.setattr(credentials, "RECENT_SECONDS", 0.2)
    secret = credentials.credential_issue(kind=Credential.MEMBER, subject="m-1")
    assert credentials.recent_principal_for(secret).id == "m-1"

    Credential.objects.update(revoked_at=timezone.now())

    assert credentials.principal_for(secret) is None
    time.sleep(0.25)
    assert credentials.recent_principal_for(secret) is None
