import pytest

from apps.members.models import Member

pytestmark = pytest.mark.django_db(transaction=True)
# admin_client: pytest-django's, a superuser logged in with force_login.


def test_members_are_listed_searchable_and_link_to_the_member_page(admin_client, register_member):
    ani = register_member(name="Ani Wijaya")
    register_member(name="Budi Santoso")

    found = admin_client.get("/admin/members/member/?q=Ani")
    page = admin_client.get(f"/admin/members/member/{ani.id}/change/").content.decode()

    assert [m.name for m in found.context["cl"].result_list] == ["Ani Wijaya"]
    assert f"/admin/overview/memberoverview/{ani.id}/change/" in page


def test_member_profiles_are_not_edited_in_the_admin_since_that_would_skip_member_saved(admin_client, register_member):
    ani = register_member(name="Ani Wijaya")
    base = "/admin/members/member/"

    assert admin_client.post(f"{base}{ani.id}/change/", {"name": "Hacked"}).status_code == 403
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{ani.id}/delete/", {"post": "yes"}).status_code == 403
    assert Member.objects.get(id=ani.id).name == "Ani Wijaya"
