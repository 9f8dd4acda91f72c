import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_registration_returns_the_merchant_and_an_api_key_that_works(anon):
    response = anon.post("/api/v1/merchants", {"name": "Warung Kopi", "email": "kopi@warung.id"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "email", "created_at", "api_key"}
    me = anon.get(f"/api/v1/merchants/{body['id']}", HTTP_AUTHORIZATION=f"Bearer {body['api_key']}")
    assert me.status_code == 200
    assert me.json() == {k: body[k] for k in ("id", "name", "email", "created_at")}


def test_a_merchant_sees_only_itself(register_merchant, register_member, staff):
    kopi, bakso = register_merchant(), register_merchant("Bakso")

    assert bakso.client.get(f"/api/v1/merchants/{kopi.id}").status_code == 404
    assert staff.get(f"/api/v1/merchants/{kopi.id}").status_code == 200
    assert register_member().client.get(f"/api/v1/merchants/{kopi.id}").status_code == 403


def test_an_email_already_registered_is_409(anon):
    anon.post("/api/v1/merchants", {"name": "A", "email": "a@shop.id"}, format="json")

    response = anon.post("/api/v1/merchants", {"name": "B", "email": "A@shop.id"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "merchant_exists"
