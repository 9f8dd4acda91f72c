import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.notifications.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_admin_lists_notifications_and_emails_again_those_never_emailed(register_member, pump, mailoutbox):
    register_member(email="ani@example.id")
    pump()
    Notification.objects.update(emailed_at=None)  # as if the mail server had kept failing
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.id", "x"))

    assert client.get("/admin/notifications/notification/").status_code == 200
    assert client.get("/admin/notifications/notification/?emailed=no").status_code == 200
    assert client.get("/admin/notifications/membercontact/").status_code == 200
    response = client.post(
        "/admin/notifications/notification/",
        {
            "action": "email_again",
            "_selected_action": [str(pk) for pk in Notification.objects.values_list("pk", flat=True)],
        },
    )

    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [["ani@example.id"], ["ani@example.id"]]
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0
