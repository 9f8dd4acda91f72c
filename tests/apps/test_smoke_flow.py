import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_smoke(register_member, register_merchant, fund, pump, anon):
    merchant = register_merchant()
    member = register_member()
    fund(member, 100_000)
    paid = member.client.post("/api/v1/payments", {"merchant_id": merchant.id, "amount": 30_000}, format="json")
    assert paid.status_code == 201, paid.content
    refund = merchant.client.post(f"/api/v1/payments/{paid.json()['id']}/refunds", {"amount": 10_000}, format="json")
    assert refund.status_code == 201, refund.content
    pump()
    me = member.client.get(f"/api/v1/members/{member.id}").json()
    print(me)
    assert me["balance"] == {"amount": 80_000, "currency": "IDR"}
    history = member.client.get(f"/api/v1/members/{member.id}/transactions").json()
    print(history)
    assert [t["amount"] for t in history["results"]] == [10_000, -30_000, 100_000]
