from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_outbox_pattern.models import Published

from apps.members.models import Member
from blipay.identity import credentials
from blipay.identity.models import Credential

pytestmark = pytest.mark.django_db(transaction=True)

ANI = {"name": "Ani Wijaya", "email": "Ani@Example.id", "phone": "+6281234567890"}


def test_registration_returns_the_member_and_a_token_that_works(anon):
    response = anon.post("/api/v1/members", ANI, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "email", "phone", "created_at", "token"}
    assert (body["name"], body["email"], body["phone"]) == ("Ani Wijaya", "ani@example.id", "+6281234567890")
    me = anon.get(f"/api/v1/members/{body['id']}", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200
    assert me.json()["balance"] == {"amount": 0, "currency": "IDR"}
    assert me.json()["recent_transactions"] == []


def test_registration_emits_member_saved_with_the_requests_correlation_id(anon):
    response = anon.post("/api/v1/members", ANI, format="json", HTTP_X_REQUEST_ID="signup-1")

    assert response["X-Request-ID"] == "signup-1"
    event = Published.objects.get(destination="member.saved.v1").body
    assert event["correlation_id"] == "signup-1"
    assert event["data"]["email"] == "ani@example.id"
    assert event["sequence"] == 1


def test_registration_also_emits_member_registered_once_and_a_profile_change_does_not(anon):
    body = anon.post("/api/v1/members", ANI, format="json", HTTP_X_REQUEST_ID="signup-2").json()
    anon.patch(
        f"/api/v1/members/{body['id']}", {"name": "Ani W."}, format="json", HTTP_AUTHORIZATION=f"Bearer {body['token']}"
    )

    [registered] = Published.objects.filter(destination="member.registered.v1").values_list("body", flat=True)
    assert (registered["subject"], registered["correlation_id"]) == (body["id"], "signup-2")
    assert registered["data"] == {"member_id": body["id"], "registered_at": registered["data"]["registered_at"]}
    assert Published.objects.filter(destination="member.saved.v1").count() == 2


def test_an_email_already_registered_is_refused_whatever_its_case(anon):
    anon.post("/api/v1/members", ANI, format="json")

    response = anon.post("/api/v1/members", {**ANI, "email": "ANI@example.ID"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "member_exists"
    assert Member.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ANI, "name": ""}, "name"),
        ({**ANI, "email": "not-an-email"}, "email"),
        ({**ANI, "phone": "call me"}, "phone"),
        ({"name": "Ani", "email": "a@b.id"}, "phone"),
    ],
)
def test_invalid_registration_names_the_field_and_creates_nothing(anon, body, field):
    response = anon.post("/api/v1/members", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert not Member.objects.exists()


def test_malformed_json_is_a_clear_400(anon):
    response = anon.post("/api/v1/members", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_a_member_sees_only_themselves_and_others_answer_404(register_member, register_merchant, staff):
    ani, budi = register_member(), register_member()

    assert budi.client.get(f"/api/v1/members/{ani.id}").status_code == 404
    assert budi.client.get(f"/api/v1/members/{ani.id}").json()["error"]["code"] == "not_found"
    assert staff.get(f"/api/v1/members/{ani.id}").status_code == 200
    assert register_merchant().client.get(f"/api/v1/members/{ani.id}").status_code == 403


def test_no_token_is_401_and_a_bad_token_is_401(anon, register_member):
    ani = register_member()

    missing = anon.get(f"/api/v1/members/{ani.id}")
    wrong = anon.get(f"/api/v1/members/{ani.id}", HTTP_AUTHORIZATION="Bearer mbr_nope")

    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert missing.json()["error"]["code"] == "unauthenticated"
    assert wrong.status_code == 401


def test_a_member_changes_name_and_phone_and_the_overview_follows(register_member, pump):
    ani = register_member()

    response = ani.client.patch(f"/api/v1/members/{ani.id}", {"name": "Ani W.", "phone": "+628111"}, format="json")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["phone"]) == ("Ani W.", "+628111")
    pump()
    assert ani.client.get(f"/api/v1/members/{ani.id}").json()["name"] == "Ani W."


def test_changing_email_to_one_taken_is_409_and_unknown_fields_are_400(register_member):
    ani, budi = register_member(), register_member(email="budi@example.id")

    taken = ani.client.patch(f"/api/v1/members/{ani.id}", {"email": "BUDI@example.id"}, format="json")
    unknown = ani.client.patch(f"/api/v1/members/{ani.id}", {"balance": 10}, format="json")
    other = budi.client.patch(f"/api/v1/members/{ani.id}", {"name": "x"}, format="json")

    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "member_exists"
    assert unknown.status_code == 400
    assert "balance" in unknown.json()["error"]["fields"]
    assert other.status_code == 404


def test_unknown_endpoint_answers_the_json_error_body(anon):
    response = anon.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_revoked_token_is_refused_once_the_callers_recent_window_has_passed(register_member, monkeypatch):
    clock = [1_000.0]
    monkeypatch.setattr(credentials, "time", SimpleNamespace(monotonic=lambda: clock[0]))  # this module's clock only
    ani = register_member()
    assert ani.client.get(f"/api/v1/members/{ani.id}").status_code == 200  # resolved, remembered

    Credential.objects.filter(subject=ani.id).update(revoked_at=timezone.now())
    clock[0] += credentials.RECENT_SECONDS - 0.1
    assert ani.client.get(f"/api/v1/members/{ani.id}").status_code == 200  # still within the window
    clock[0] += 0.2

    assert ani.client.get(f"/api/v1/members/{ani.id}").status_code == 401
