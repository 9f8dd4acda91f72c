"""Staff see who holds a credential and revoke it in the admin; the secret is nowhere there."""

import uuid

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from blipay.identity.credentials import credential_issue
from blipay.identity.models import Credential

pytestmark = pytest.mark.django_db


def test_staff_revoke_a_member_token_in_the_admin_and_it_stops_working(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    member_id = str(uuid.uuid4())
    secret = credential_issue(kind=Credential.MEMBER, subject=member_id)
    credential = Credential.objects.get(subject=member_id)
    holder = APIClient(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert holder.get(f"/api/v1/members/{member_id}").status_code == 404  # authenticated; no such member

    listed = client.get("/admin/identity/credential/").content.decode()
    shown = client.get(f"/admin/identity/credential/{credential.pk}/change/").content.decode()
    revoked = client.post(
        "/admin/identity/credential/", {"action": "revoke", "_selected_action": [credential.pk]}, follow=True
    )

    assert secret[:10] in listed and member_id in listed
    assert secret not in listed + shown and credential.key_hash not in listed + shown
    assert "1 credential(s) revoked." in revoked.content.decode()
    assert holder.get(f"/api/v1/members/{member_id}").status_code == 401
