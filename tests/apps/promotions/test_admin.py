import pytest
from django.contrib.auth import get_user_model
from django.test import Client
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
