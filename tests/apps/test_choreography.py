"""The admin draws the choreography of a payment: the request, every event it set off, every
module that applied each, linked from the pages of what the request touched."""

import io
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.utils import timezone
from django_outbox_pattern.models import Published, Received

from apps.promotions.services import promotion_create
from blipay.events.models import AppliedEvent

pytestmark = pytest.mark.django_db(transaction=True)
SVG = "{http://www.w3.org/2000/svg}"


def picture_url(correlation_id: str) -> str:
    return f"/admin/django_outbox_pattern/published/choreography/{correlation_id}/"


@pytest.fixture
def paid(register_member, register_merchant, fund, pump):
    """A member pays a merchant running a cashback promotion; the merchant refunds part.
    Returns the payment, the refund, the top-up and the member, each with its request id."""
    kopi = register_merchant()
    now = timezone.now()
    promotion_create(
        merchant_id=kopi.id,
        percent=10,
        max_amount=5_000,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    ani = register_member()
    topup = fund(ani, 100_000)
    pay_id = f"pay-{uuid.uuid4().hex[:8]}"
    payment = ani.client.post(
        "/api/v1/payments", {"merchant_id": kopi.id, "amount": 30_000}, format="json", HTTP_X_REQUEST_ID=pay_id
    )
    assert payment.status_code == 201, payment.content
    refund_id = f"refund-{uuid.uuid4().hex[:8]}"
    refund = kopi.client.post(
        f"/api/v1/payments/{payment.json()['id']}/refunds",
        {"amount": 5_000},
        format="json",
        HTTP_X_REQUEST_ID=refund_id,
    )
    assert refund.status_code == 201, refund.content
    pump()
    return {"payment": (payment.json(), pay_id), "refund": (refund.json(), refund_id), "topup": topup, "member": ani}


def svg_of(page: str) -> ET.Element:
    """The picture, parsed: it must be well-formed SVG on its own."""
    match = re.search(r"<svg class=\"choreography\".*?</svg>", page, re.S)
    assert match, "no SVG on the page"
    return ET.fromstring(match.group(0))


def texts(svg: ET.Element, cls: str) -> list[str]:
    return [el.text for el in svg.iter(f"{SVG}text") if cls in el.get("class", "").split()]


def test_the_admin_draws_each_event_of_a_payment_and_each_module_that_applied_it(admin_client, paid):
    _, pay_id = paid["payment"]

    response = admin_client.get(picture_url(pay_id))

    assert response.status_code == 200
    svg = svg_of(response.content.decode())
    names = texts(svg, "name")
    # payment.saved and payment.made from the request, the member's debit, the cashback the
    # promotion granted, its credit, and the notifications of both balance changes.
    emitted = [
        f"{body['type']} v{body['version']}"
        for body in Published.objects.filter(body__correlation_id=pay_id)
        .order_by("added")
        .values_list("body", flat=True)
    ]
    assert names == emitted
    assert {"payment.saved v1", "payment.made v1", "wallet.balance_changed v1", "cashback.granted v1"} <= set(names)
    assert "notification.sent v2" in names
    consumers = set(AppliedEvent.objects.filter(correlation_id=pay_id).values_list("consumer", flat=True))
    assert {"promotions", "wallet", "notifications", "overview"} <= consumers
    lanes = texts(svg, "lane-title")
    assert lanes[0] == "request" and lanes[-1] == "outbox"
    assert consumers <= set(lanes)
    applied = [g for g in svg.iter(f"{SVG}g") if "mark-applied" in g.get("class", "")]
    assert len(applied) == AppliedEvent.objects.filter(correlation_id=pay_id).count()
    assert not Received.objects.exists()
    assert not [
        g for g in svg.iter(f"{SVG}g") if "mark-failed" in g.get("class", "") or "mark-pending" in g.get("class", "")
    ]
    # The chain: the promotions handler of payment.made emitted cashback.granted.
    causes = [line.find(f"{SVG}title").text for line in svg.iter(f"{SVG}line") if line.get("class") == "l-cause"]
    assert "the promotions handler of payment.made emitted cashback.granted" in causes
    # The same facts, as a table.
    page = response.content.decode()
    assert page.count('<tr class="fact-applied">') == len(applied)
    assert f"{len(applied)} applied (0 after failed attempts), 0 dead-lettered, 0 pending" in page


def test_an_event_nobody_applied_yet_is_drawn_pending(admin_client, register_member, register_merchant, credit):
    kopi, ani = register_merchant(), register_member()
    credit(ani, 50_000)
    pay_id = f"pay-{uuid.uuid4().hex[:8]}"
    ani.client.post(
        "/api/v1/payments", {"merchant_id": kopi.id, "amount": 1_000}, format="json", HTTP_X_REQUEST_ID=pay_id
    )

    svg = svg_of(admin_client.get(picture_url(pay_id)).content.decode())  # no pump: nothing consumed yet

    pending = [g for g in svg.iter(f"{SVG}g") if "mark-pending" in g.get("class", "")]
    assert pending and not [g for g in svg.iter(f"{SVG}g") if "mark-applied" in g.get("class", "")]
    assert "promotions has not applied payment.made.v1 yet" in [g.find(f"{SVG}title").text for g in pending]


def test_the_payment_topup_refund_and_member_pages_link_to_their_requests_choreography(admin_client, paid):
    payment, pay_id = paid["payment"]
    refund, refund_id = paid["refund"]
    member = paid["member"]
    pages = {
        f"/admin/payments/payment/{payment['id']}/change/": [pay_id, refund_id],
        f"/admin/payments/refund/{refund['id']}/change/": [refund_id],
        f"/admin/members/member/{member.id}/change/": [pay_id, refund_id],
        f"/admin/overview/memberoverview/{member.id}/change/": [pay_id, refund_id],
    }
    for page, requests in pages.items():
        html = admin_client.get(page).content.decode()
        for correlation_id in requests:
            assert f'href="{picture_url(correlation_id)}"' in html, (page, correlation_id)

    # Each link says what the request itself did.
    payment_page = admin_client.get(f"/admin/payments/payment/{payment['id']}/change/").content.decode()
    said = dict(re.findall(r'choreography/([^/]+)/">[^<]+</a>: the request emitted ([^<]+)</li>', payment_page))
    assert "payment.made" in said[pay_id] and "refund.saved" not in said[pay_id]
    assert "refund.saved" in said[refund_id]

    topup_page = admin_client.get(f"/admin/payments/topup/{paid['topup']['id']}/change/").content.decode()
    topup_requests = Published.objects.filter(body__subject=paid["topup"]["id"]).values_list(
        "body__correlation_id", flat=True
    )
    assert len(set(topup_requests)) == 2  # asked for, then confirmed by the bank
    for correlation_id in topup_requests:
        assert f'href="{picture_url(correlation_id)}"' in topup_page


def test_events_trace_prints_the_address_of_the_picture(paid):
    _, pay_id = paid["payment"]
    out = io.StringIO()

    call_command("events", "trace", pay_id, stdout=out)

    assert f"picture: {picture_url(pay_id)}" in out.getvalue()


def test_only_staff_allowed_to_read_the_outbox_see_the_picture(client, paid):
    _, pay_id = paid["payment"]
    member_user = User.objects.create_user("ani", "ani@example.id", "pw")
    client.force_login(member_user)
    assert client.get(picture_url(pay_id)).status_code == 302  # to the admin's login

    member_user.is_staff = True
    member_user.save()
    assert client.get(picture_url(pay_id)).status_code == 403

    member_user.user_permissions.add(Permission.objects.get(codename="view_published"))
    assert client.get(picture_url(pay_id)).status_code == 200


def test_a_malformed_correlation_id_is_refused_with_a_message_and_an_unknown_one_found_missing(admin_client):
    asking = admin_client.get("/admin/django_outbox_pattern/published/choreography/")
    assert asking.status_code == 200 and 'name="correlation_id"' in asking.content.decode()

    refused = admin_client.get(picture_url("not an id!"))
    assert refused.status_code == 400
    assert "is not a correlation id" in refused.content.decode()

    form = admin_client.get("/admin/django_outbox_pattern/published/choreography/", {"correlation_id": "a/b"})
    assert form.status_code == 400

    missing = admin_client.get(picture_url("no-such-request"))
    assert missing.status_code == 404
    assert "No stored event has correlation id" in missing.content.decode()

    found = admin_client.get("/admin/django_outbox_pattern/published/choreography/", {"correlation_id": "abc-1"})
    assert found.status_code == 302 and found["Location"] == picture_url("abc-1")
