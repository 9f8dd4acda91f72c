import pytest

from apps.wallet.models import Account, Entry, LedgerTransaction

pytestmark = pytest.mark.django_db(transaction=True)
# admin_client: pytest-django's, a superuser logged in with force_login.


@pytest.fixture
def funded(register_member, credit):
    member = register_member()
    credit(member, 100_000)
    return member


@pytest.mark.parametrize("model", [LedgerTransaction, Account, Entry])
def test_ledger_admin_refuses_add_change_and_delete(admin_client, funded, model):
    row = model.objects.first()
    base = f"/admin/wallet/{model._meta.model_name}/"

    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}add/", {}).status_code == 403
    assert admin_client.post(f"{base}{row.pk}/change/", {"amount": 1}).status_code == 403
    assert admin_client.get(f"{base}{row.pk}/delete/").status_code == 403
    assert admin_client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    changelist = admin_client.get(base).content.decode()
    assert f"{base}add/" not in changelist
    assert "delete_selected" not in changelist
    assert model.objects.filter(pk=row.pk).exists()


def test_ledger_transaction_page_shows_its_entries_read_only(admin_client, funded):
    posted = LedgerTransaction.objects.get(member_id=funded.id)

    page = admin_client.get(f"/admin/wallet/ledgertransaction/{posted.pk}/change/").content.decode()

    assert "Rp +100.000" in page  # the member's entry
    assert "Rp -100.000" in page  # the bank's entry
    assert 'name="_save"' not in page


@pytest.mark.parametrize(
    "path",
    [
        "/admin/wallet/ledgertransaction/?kind__exact=topup",
        "/admin/wallet/ledgertransaction/?q=topup",
        "/admin/wallet/ledgertransaction/?q=not-a-uuid",
        "/admin/wallet/account/?kind__exact=member",
        "/admin/wallet/entry/?account__kind__exact=system",
        "/admin/wallet/entry/?q=bank",
    ],
)
def test_ledger_lists_render_with_search_and_filters(admin_client, funded, path):
    assert admin_client.get(path).status_code == 200
