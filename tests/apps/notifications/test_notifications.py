import uuid

import pytest
from django.core.management import call_command
from django.db import transaction
from django_outbox_pattern.models import Published

from apps.notifications.models import MemberContact, Notification
from apps.notifications.services import balance_change_notify
from apps.notifications.tasks import email_notification
from blipay.events.broker import ConfirmingPublisher, OutgoingMessage
from blipay.events.models import AppliedEvent

pytestmark = pytest.mark.django_db(transaction=True)

HOUR = "T00:00:00+07:00"


def notifications_of(client, member_id: str, **params) -> dict:
    response = client.get(f"/api/v1/members/{member_id}/notifications", params)
    assert response.status_code == 200, response.content
    return response.json()


def republish(*routing_keys: str) -> int:
    """Send every stored event of these types to the broker again, as a broker or relay
    that redelivers would."""
    bodies = list(
        Published.objects.filter(destination__in=routing_keys).order_by("added").values_list("body", flat=True)
    )
    publisher = ConfirmingPublisher()
    try:
        publisher.publish([OutgoingMessage.from_envelope(body) for body in bodies])
    finally:
        publisher.close()
    return len(bodies)


def test_registration_sends_a_welcome_notification_by_email(register_member, pump, mailoutbox):
    ani = register_member(email="ani@example.id", name="Ani Wijaya")
    pump()

    [welcome] = notifications_of(ani.client, ani.id)["results"]
    assert set(welcome) == {"id", "kind", "channel", "recipient", "subject", "body", "created_at"}
    assert (welcome["kind"], welcome["channel"], welcome["recipient"]) == ("welcome", "email", "ani@example.id")
    assert welcome["subject"] == "Welcome to Blipay"
    assert welcome["body"].startswith("Hi Ani Wijaya,")
    [email] = mailoutbox
    assert (email.to, email.subject, email.body) == (["ani@example.id"], "Welcome to Blipay", welcome["body"])


def test_the_email_task_delivered_twice_emails_once_and_a_notification_without_address_never(
    register_member, pump, mailoutbox
):
    ani = register_member(email="ani@example.id")
    pump()
    [welcome] = notifications_of(ani.client, ani.id)["results"]
    assert len(mailoutbox) == 1

    assert email_notification.apply(args=[welcome["id"]]).get() is False  # Celery's at-least-once
    assert email_notification.apply(args=[str(uuid.uuid4())]).get() is False  # purged meanwhile
    Notification.objects.filter(id=welcome["id"]).update(emailed_at=None, recipient="")
    assert email_notification.apply(args=[welcome["id"]]).get() is False
    assert len(mailoutbox) == 1


def test_a_sent_notification_is_published_as_notification_sent(register_member, pump):
    ani = register_member(email="ani@example.id")
    pump()

    [welcome] = notifications_of(ani.client, ani.id)["results"]
    [event] = Published.objects.filter(destination="notification.sent.v2").values_list("body", flat=True)
    assert (event["subject"], event["sequence"]) == (welcome["id"], 1)
    assert event["data"] | {"created_at": welcome["created_at"]} == welcome | {"member_id": ani.id}
    registered = Published.objects.get(destination="member.registered.v1").body
    assert (event["correlation_id"], event["causation_id"]) == (registered["correlation_id"], registered["id"])


def test_each_balance_change_is_notified_with_its_amount_and_the_new_balance(
    register_member, register_merchant, credit, staff, pump, mailoutbox
):
    merchant = register_merchant()
    staff.post(
        "/api/v1/promotions",
        {
            "merchant_id": merchant.id,
            "percent": 10,
            "max_amount": 5_000,
            "starts_at": "2020-01-01" + HOUR,
            "ends_at": "2099-01-01" + HOUR,
        },
        format="json",
    )
    ani = register_member(email="ani@example.id")
    credit(ani, 100_000)
    payment = ani.client.post(
        "/api/v1/payments", {"merchant_id": merchant.id, "amount": 30_000, "description": "Kopi susu"}, format="json"
    ).json()
    pump()
    merchant.client.post(
        f"/api/v1/payments/{payment['id']}/refunds", {"amount": 10_000, "reason": "Cold"}, format="json"
    )
    pump()

    results = notifications_of(ani.client, ani.id)["results"]
    assert [(n["kind"], n["subject"]) for n in results] == [
        ("refund", "Refund of Rp 10.000 received"),
        ("cashback", "Cashback of Rp 3.000 received"),
        ("payment", "Payment of Rp 30.000 made"),
        ("topup", "Top-up of Rp 100.000 received"),
        ("welcome", "Welcome to Blipay"),
    ]
    refund, cashback, paid, topup, _ = (n["body"] for n in results)
    assert "Your balance is now Rp 100.000." in topup
    assert "Kopi susu" in paid
    assert "Your balance is now Rp 70.000." in paid
    assert "Your balance is now Rp 73.000." in cashback
    assert "Cold" in refund
    assert "Your balance is now Rp 83.000." in refund
    assert [m.subject for m in mailoutbox] == [n["subject"] for n in reversed(results)]
    assert {tuple(m.to) for m in mailoutbox} == {("ani@example.id",)}


def test_notifications_follow_the_members_new_email_address(register_member, credit, pump, mailoutbox):
    ani = register_member(email="ani@example.id")
    pump()
    ani.client.patch(f"/api/v1/members/{ani.id}", {"email": "ani@new.example.id"}, format="json")
    pump()

    credit(ani, 50_000)

    assert mailoutbox[-1].subject == "Top-up of Rp 50.000 received"
    assert mailoutbox[-1].to == ["ani@new.example.id"]
    assert len(mailoutbox) == 2  # a changed profile is not a second registration


def test_a_balance_change_of_a_kind_it_has_no_words_for_is_still_notified_plainly(register_member, pump, mailoutbox):
    ani = register_member(email="ani@example.id", name="Ani Wijaya")
    pump()

    with transaction.atomic():
        notification = balance_change_notify(
            member_id=ani.id,
            kind="interest",  # a ledger kind the wallet might add
            amount=1_250,
            balance=101_250,
            description="Interest for November",
            source_event_id=str(uuid.uuid4()),
        )
    pump()

    assert (notification.kind, notification.subject) == ("balance", "Your Blipay balance changed")
    assert "Rp 1.250 was added to your Blipay balance.\nInterest for November" in notification.body
    assert "Your balance is now Rp 101.250." in notification.body
    assert mailoutbox[-1].subject == "Your Blipay balance changed"
    [sent] = Published.objects.filter(destination="notification.sent.v2", body__data__kind="balance")
    assert sent.body["data"]["id"] == str(notification.id)


def test_a_redelivered_event_sends_nothing_twice(register_member, credit, pump, mailoutbox):
    ani = register_member()
    credit(ani, 100_000)
    before = notifications_of(ani.client, ani.id)["results"]
    assert len(before) == len(mailoutbox) == 2

    assert republish("member.registered.v1", "wallet.balance_changed.v1") == 2
    assert pump() > 0

    assert notifications_of(ani.client, ani.id)["results"] == before
    assert len(mailoutbox) == 2
    assert Published.objects.filter(destination="notification.sent.v2").count() == 2


def test_a_redelivery_after_the_inbox_forgot_the_event_still_sends_nothing_twice(
    register_member, credit, pump, mailoutbox
):
    ani = register_member()
    credit(ani, 100_000)
    before = notifications_of(ani.client, ani.id)["results"]
    AppliedEvent.objects.filter(consumer="notifications").delete()  # past the inbox's retention

    republish("member.registered.v1", "wallet.balance_changed.v1")
    assert pump() > 0

    assert notifications_of(ani.client, ani.id)["results"] == before
    assert len(mailoutbox) == 2


def test_a_member_sees_their_notifications_and_nobody_elses(register_member, register_merchant, staff, anon, pump):
    ani, budi = register_member(), register_member()
    pump()
    path = f"/api/v1/members/{ani.id}/notifications"

    assert ani.client.get(path).status_code == 200
    assert staff.get(path).status_code == 200
    assert len(staff.get(path).json()["results"]) == 1
    other = budi.client.get(path)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    assert anon.get(path).status_code == 401
    assert anon.get(path).json()["error"]["code"] == "unauthenticated"
    assert register_merchant().client.get(path).status_code == 403


def test_notifications_are_paginated_newest_first(register_member, credit, pump):
    ani = register_member()
    for amount in (10_000, 20_000, 30_000):
        credit(ani, amount)

    first = notifications_of(ani.client, ani.id, limit=2)
    second = ani.client.get(first["next"]).json()

    assert [n["subject"] for n in first["results"]] == [
        "Top-up of Rp 30.000 received",
        "Top-up of Rp 20.000 received",
    ]
    assert [n["subject"] for n in second["results"]] == ["Top-up of Rp 10.000 received", "Welcome to Blipay"]
    assert second["next"] is None


def test_replay_rebuilds_the_contact_replica_and_sends_nothing(register_member, pump, mailoutbox):
    ani = register_member(email="ani@example.id", name="Ani Wijaya")
    pump()
    ani.client.patch(f"/api/v1/members/{ani.id}", {"name": "Ani W."}, format="json")
    pump()
    MemberContact.objects.all().delete()

    call_command("events", "replay", "notifications")

    contact = MemberContact.objects.get(member_id=ani.id)
    assert (contact.name, contact.email) == ("Ani W.", "ani@example.id")
    assert len(notifications_of(ani.client, ani.id)["results"]) == 1
    assert len(mailoutbox) == 1
