import pytest

from apps.merchants.models import Merchant

pytestmark = pytest.mark.django_db(transaction=True)
# admin_client: pytest-django's, a superuser logged in with force_login.


def test_merchants_are_listed_searchable_and_read_only(admin_client, register_merchant):
    kopi = register_merchant(name="Warung Kopi")
    register_merchant(name="Toko Buku")
    base = "/admin/merchants/merchant/"

    found = admin_client.get(f"{base}?q=Kopi")

    assert [m.name for m in found.context["cl"].result_list] == ["Warung Kopi"]
    assert admin_client.get(f"{base}{kopi.id}/change/").status_code == 200
    assert admin_client.post(f"{base}{kopi.id}/change/", {"name": "Hacked"}).status_code == 403
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{kopi.id}/delete/", {"post": "yes"}).status_code == 403
    assert Merchant.objects.get(id=kopi.id).name == "Warung Kopi"
