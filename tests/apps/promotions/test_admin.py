from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_outbox_pattern.models import Published

from apps.promotions.models import Promotion

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.id", "x"))
    return client


def test_the_admin_lists_promotions_grants_and_merchants(admin_client_, register_merchant):
    register_merchant()

    for page in ("promotion", "cashbackgrant", "merchantreplica"):
        assert admin_client_.get(f"/admin/promotions/{page}/").status_code == 200
    assert admin_client_.get("/admin/promotions/promotion/add/").status_code == 200


def test_a_promotion_added_in_the_admin_is_published_like_one_made_through_the_api(admin_client_, register_merchant):
    merchant = register_merchant()
    form = {
        "merchant_id": merchant.id,
        "percent": 10,
        "max_amount": 5_000,
        "starts_at_0": "2026-12-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-12-08",
        "ends_at_1": "00:00:00",
    }

    response = admin_client_.post("/admin/promotions/promotion/add/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    promotion = Promotion.objects.get()
    event = Published.objects.get(destination="promotion.saved.v1").body
    assert (event["subject"], event["data"]["max_amount"]) == (str(promotion.id), 5_000)


def test_the_admin_refuses_a_promotion_that_ends_before_it_starts(admin_client_, register_merchant):
    form = {
        "merchant_id": register_merchant().id,
        "percent": 10,
        "max_amount": 5_000,
        "starts_at_0": "2026-12-08",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-12-01",
        "ends_at_1": "00:00:00",
    }

    response = admin_client_.post("/admin/promotions/promotion/add/", form)

    assert response.status_code == 200
    assert not Promotion.objects.exists()


def test_a_promotion_added_in_the_admin_gives_cashback_on_the_next_payment(
    admin_client_, register_merchant, register_member, credit, pump
):
    kopi, ani = register_merchant(), register_member()
    credit(ani, 100_000)
    yesterday, tomorrow = timezone.localtime() - timedelta(days=1), timezone.localtime() + timedelta(days=1)
    form = {
        "merchant_id": kopi.id,
        "percent": 10,
        "max_amount": 5_000,
        "starts_at_0": f"{yesterday:%Y-%m-%d}",
        "starts_at_1": f"{yesterday:%H:%M:%S}",
        "ends_at_0": f"{tomorrow:%Y-%m-%d}",
        "ends_at_1": f"{tomorrow:%H:%M:%S}",
    }
    assert admin_client_.post("/admin/promotions/promotion/add/", form).status_code == 302

    paid = ani.client.post("/api/v1/payments", {"merchant_id": kopi.id, "amount": 30_000}, format="json")
    assert paid.status_code == 201, paid.content
    pump()  # payment.made → the promotion's cashback.granted → the wallet's credit

    assert ani.client.get(f"/api/v1/members/{ani.id}").json()["balance"]["amount"] == 100_000 - 30_000 + 3_000
    history = ani.client.get(f"/api/v1/members/{ani.id}/transactions").json()["results"]
    assert [line["amount"] for line in history] == [3_000, -30_000, 100_000]
