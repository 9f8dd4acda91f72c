"""Notifications are kept BLIPAY_NOTIFICATION_RETENTION_DAYS, then deleted with every copy:
the mail files, the overview's lines, their events in the outbox and inbox."""

import io
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_outbox_pattern.models import Published, Received

from apps.notifications.models import Notification
from apps.overview.models import NotificationLine
from blipay.events.models import AppliedEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _purge(*args: str) -> str:
    out = io.StringIO()
    call_command("notifications", "purge", *args, stdout=out)
    return out.getvalue()


def _age(notification: Notification, days: int) -> None:
    """Make a notification, and everything that copied it, ``days`` old."""
    then = timezone.now() - timedelta(days=days)
    Notification.objects.filter(id=notification.id).update(created_at=then)
    NotificationLine.objects.filter(id=notification.id).update(created_at=then)
    events = Published.objects.filter(destination__startswith="notification.sent.", body__subject=str(notification.id))
    event_ids = [str(body["id"]) for body in events.values_list("body", flat=True)]
    events.update(added=then)
    for event_id in event_ids:
        AppliedEvent.objects.filter(key__endswith=f":{event_id}").update(applied_at=then)
    Received.objects.filter(headers__event_id__in=event_ids).update(added=then)


def test_purge_deletes_old_notifications_and_their_copies_and_keeps_new_ones(
    register_member, credit, settings, tmp_path
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.BLIPAY_NOTIFICATION_RETENTION_DAYS = 90
    ani = register_member()
    credit(ani, 50_000)
    welcome = Notification.objects.get(member_id=ani.id, kind="welcome")
    _age(welcome, days=91)
    mails = sorted(Path(settings.EMAIL_FILE_PATH).glob("*.log"))
    assert len(mails) == 2
    old = time.time() - 91 * 86400
    os.utime(mails[0], (old, old))

    said = _purge()

    assert "1 notifications, 1 mail files, 1 overview lines, 1 outbox events, 2 inbox deliveries" in said
    listed = ani.client.get(f"/api/v1/members/{ani.id}/notifications").json()["results"]
    assert [n["kind"] for n in listed] == ["topup"]
    assert list(NotificationLine.objects.values_list("kind", flat=True)) == ["topup"]
    assert sorted(Path(settings.EMAIL_FILE_PATH).glob("*.log")) == mails[1:]
    assert not Published.objects.filter(body__subject=str(welcome.id)).exists()
    assert Published.objects.filter(destination__startswith="notification.sent.").count() == 1
    assert "0 notifications, 0 mail files, 0 overview lines, 0 outbox events, 0 inbox deliveries" in _purge()


def test_purge_days_overrides_the_setting_and_refuses_a_negative_number(register_member, pump):
    ani = register_member()
    pump()
    _age(Notification.objects.get(member_id=ani.id), days=10)

    assert "0 notifications" in _purge()  # 10 days is within the default 90
    assert "1 notifications" in _purge("--days", "7")
    with pytest.raises(CommandError, match="0 or more"):
        _purge("--days", "-1")


def test_the_purge_is_scheduled_every_hour():
    assert django_settings.CELERY_BEAT_SCHEDULE["notifications-purge"] == {
        "task": "notifications.purge",
        "schedule": 3600.0,
    }


def test_the_extracted_notifications_service_purges_its_own_database(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blipay.settings",
        "BLIPAY_SERVICE": "notifications",
        "BLIPAY_VAR_DIR": str(tmp_path),
        "BROKER_URL": "memory://",
    }
    env.pop("DATABASE_URL", None)  # its own SQLite database in tmp_path, never the monolith's
    manage = [sys.executable, "manage.py"]

    def run(*command: str) -> str:
        done = subprocess.run(
            [*manage, *command], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True, check=True
        )
        return done.stdout

    run("migrate", "--noinput", "-v0")
    run(
        "shell",
        "-c",
        "import uuid; from datetime import timedelta; from django.utils import timezone; "
        "from apps.notifications.models import Notification as N; "
        "[N.objects.create(member_id=uuid.uuid4(), kind='welcome', subject='Welcome', body='Hi', "
        "source_event_id=uuid.uuid4(), created_at=timezone.now() - timedelta(days=d)) for d in (100, 1)]",
    )

    assert "1 notifications, 0 mail files, 0 overview lines" in run("notifications", "purge")
    assert "0 notifications" in run("notifications", "purge")
