"""Notifications extracted for real: the monolith (this process) and the service (a second
process on a loopback port, its own database, the same broker)."""

import io
import json
import logging
import os
import signal
import threading
import time
import uuid

import pytest
import urllib3
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from rest_framework.test import APIClient

from apps.notifications.models import Notification
from blipay.events.consumers import consumers_in_threads, drain
from blipay.identity.internal import Caller, sign, signed_get
from strangler import forward, shadow, traffic
from strangler.models import Comparison
from tests.helpers import wait_until
from tests.observed import METRICS_TOKEN, Scrape
from tests.strangler.conftest import set_route
from tests.strangler.service import ROTATED_KEY

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.rabbitmq]

http = urllib3.PoolManager(retries=False, timeout=10)


def register(name: str = "Ani Wijaya") -> tuple[str, APIClient]:
    email = f"{uuid.uuid4().hex[:10]}@example.id"
    response = APIClient().post("/api/v1/members", {"name": name, "email": email, "phone": "+628123"}, format="json")
    assert response.status_code == 201, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    return response.json()["id"], client


def notifications(client: APIClient, member_id: str):
    response = client.get(f"/api/v1/members/{member_id}/notifications")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, json.loads(body)


def service_has(service, member_id: str, count: int = 1) -> bool:
    return (
        service.sql("SELECT count(*) FROM notifications_notification WHERE member_id = %s", (member_id,))[0][0] >= count
    )


def test_flipping_the_route_changes_who_serves_and_nothing_else_the_client_sees(extracted):
    member, client = register()
    drain()  # the monolith welcomes the member; the service keeps a copy from notification.sent
    wait_until(lambda: service_has(extracted, member), message="the service has the copy")

    before, monolith_body = notifications(client, member)
    set_route("notifications", "service")
    after, service_body = notifications(client, member)

    assert (before["X-Served-By"], after["X-Served-By"]) == ("monolith", "notifications")
    assert (after.status_code, after["Content-Type"], service_body) == (200, before["Content-Type"], monolith_body)
    assert service_body["results"][0]["kind"] == "welcome"


def test_someone_elses_notifications_answer_404_from_the_service_too(extracted, staff_token):
    member, _ = register()
    _, other = register()
    drain()
    wait_until(lambda: service_has(extracted, member), message="the service has the copy")
    set_route("notifications", "service")

    response, body = notifications(other, member)
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=f"Bearer {staff_token}")
    allowed, _ = notifications(staff, member)
    anonymous, _ = notifications(APIClient(), member)

    assert (response.status_code, response["X-Served-By"], body["error"]["code"]) == (404, "notifications", "not_found")
    assert (allowed.status_code, allowed["X-Served-By"]) == (200, "notifications")
    assert (anonymous.status_code, anonymous["X-Served-By"]) == (401, "notifications")


def _direct(service, path: str, identity: str | None) -> urllib3.BaseHTTPResponse:
    return http.request("GET", service.url + path, headers={"X-Blipay-Identity": identity} if identity else {})


def test_calling_the_service_directly_needs_an_identity_signed_for_that_request_once(extracted, settings):
    member, _ = register()
    path = f"/api/v1/members/{member}/notifications"
    me = Caller(kind="member", id=member)

    def signed(**overrides) -> str:
        return sign(**{"method": "GET", "path": path, "query": "", "body": b"", "caller": me} | overrides)

    valid = signed()
    assert _direct(extracted, path, valid).status == 200
    assert _direct(extracted, path, valid).status == 401  # replayed
    refused = {
        "missing": _direct(extracted, path, None),
        "forged": _direct(extracted, path, signed()[:-4] + "AAAA"),
        "expired": _direct(extracted, path, signed(now=time.time() - 60)),
        "another request": _direct(extracted, path, signed(path=f"/api/v1/members/{uuid.uuid4()}/notifications")),
    }
    settings.BLIPAY_INTERNAL_KEY = "a-key-nobody-shares"
    refused["unknown key"] = _direct(extracted, path, signed())
    settings.BLIPAY_INTERNAL_KEY = ROTATED_KEY  # the service's current key: accepted too
    rotated = _direct(extracted, path, signed())

    assert {reason: r.status for reason, r in refused.items()} == dict.fromkeys(refused, 401)
    assert all(json.loads(r.data)["error"]["code"] == "unauthenticated" for r in refused.values())
    assert all(r.headers["X-Served-By"] == "notifications" for r in refused.values())
    assert rotated.status == 200


def test_the_service_database_holds_none_of_the_monolith_tables_and_it_never_connects_to_the_monolith_database(
    extracted,
):
    tables = {name for (name,) in extracted.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    monolith_db = connection.settings_dict["NAME"]
    service_connections = extracted.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name LIKE 'blipay-notifications-%%'",
        (monolith_db,),
    )

    assert {
        "notifications_notification",
        "notifications_membercontact",
        "published",
        "received",
        "blipay_inbox",
    } <= tables
    assert not {
        t
        for t in tables
        if t.split("_")[0] in {"members", "merchants", "wallet", "payments", "promotions", "overview", "strangler"}
    }
    assert "blipay_api_credential" not in tables
    assert service_connections == [(0,)]


def test_backfill_gives_a_fresh_service_the_history_and_emails_nobody_again(extracted):
    members = [register()[0] for _ in range(3)]
    drain()
    wait_until(lambda: all(service_has(extracted, m) for m in members), message="copies arrived")
    # A freshly started service: none of this history.
    extracted.sql("DELETE FROM notifications_notification; DELETE FROM notifications_membercontact")
    extracted.sql("DELETE FROM blipay_applied_version WHERE consumer = 'notifications'")
    emails_before = len(extracted.welcome_emails())
    sent_before = extracted.sql("SELECT count(*) FROM published")[0][0]

    call_command("strangler", "backfill", "notifications", stdout=io.StringIO(), stderr=io.StringIO())

    set_route("notifications", "service")
    for member in members:
        monolith_rows = list(Notification.objects.filter(member_id=member).values_list("id", "subject", "body"))
        service_rows = extracted.sql(
            "SELECT id, subject, body FROM notifications_notification WHERE member_id = %s", (member,)
        )
        assert service_rows == monolith_rows
    assert len(extracted.welcome_emails()) == emails_before
    assert extracted.sql("SELECT count(*) FROM published")[0][0] == sent_before  # no notification.sent of its own


def test_shadow_records_a_field_the_service_gets_wrong_and_calls_a_lagging_service_lagged(extracted):
    member, client = register()
    drain()
    wait_until(lambda: service_has(extracted, member), message="the service has the copy")
    set_route("notifications", "shadow", serve="monolith")

    served, _ = notifications(client, member)
    shadow.drain()
    extracted.sql("UPDATE notifications_notification SET subject = 'Wrong' WHERE member_id = %s", (member,))
    notifications(client, member)
    shadow.drain()

    [consumer] = extracted.pids("consume --all")
    os.kill(consumer, signal.SIGSTOP)  # the service stops reading the stream
    try:
        late, late_client = register()
        drain()
        notifications(late_client, late)
        shadow.drain()
    finally:
        os.kill(consumer, signal.SIGCONT)

    traffic.flush()
    verdicts = list(Comparison.objects.filter(route="notifications").order_by("at").values_list("verdict", "fields"))
    assert served["X-Served-By"] == "monolith"
    assert verdicts == [("mismatch", ["results.0.subject"]), ("lagged", ["results.0"])]


def test_a_handover_during_steady_registrations_welcomes_every_member_exactly_once(extracted, mailoutbox):
    registered: list[tuple[str, str, str]] = []  # (phase when it started, member, phase once committed)
    phase = ["monolith"]
    stop = threading.Event()

    def steady() -> None:
        while not stop.is_set():
            started = phase[0]
            member = register()[0]
            registered.append((started, member, phase[0]))
            time.sleep(0.05)
        connection.close()

    with consumers_in_threads():
        writer = threading.Thread(target=steady)
        writer.start()
        try:
            time.sleep(1)
            phase[0] = "handing over"
            call_command("strangler", "handover", "notifications", "--to", "service", stdout=io.StringIO())
            phase[0] = "service"
            time.sleep(2)
            phase[0] = "handing back"
            call_command("strangler", "handover", "notifications", "--to", "monolith", stdout=io.StringIO())
            phase[0] = "monolith again"
            time.sleep(1)
        finally:
            stop.set()
            writer.join()
        members = [member for _, member, _ in registered]
        wait_until(
            lambda: (
                Notification.objects.filter(member_id__in=members, kind="welcome").count() == len(members)
                and extracted.sql(
                    "SELECT count(*) FROM notifications_notification WHERE kind = 'welcome' AND member_id = ANY(%s)",
                    (members,),
                )[0][0]
                == len(members)
            ),
            timeout=60,
            message="every welcome reached both sides",
        )

    monolith_ids = dict(
        Notification.objects.filter(member_id__in=members, kind="welcome").values_list("member_id", "id")
    )
    service_ids = dict(
        extracted.sql(
            "SELECT member_id, id FROM notifications_notification WHERE kind = 'welcome' AND member_id = ANY(%s)",
            (members,),
        )
    )
    sent_by_service = {
        row[0]
        for row in extracted.sql(
            "SELECT body->'data'->>'member_id' FROM published WHERE destination LIKE 'notification.sent.v%%'"
        )
    }
    emails = [message.to[0] for message in mailoutbox if message.subject == "Welcome to Blipay"]
    emails += extracted.welcome_emails()

    assert monolith_ids == service_ids  # one welcome each, the same on both sides
    assert len(emails) == len(set(emails)) == len(members)  # each emailed once, by one side
    # Whatever was committed before the first marker is the monolith's to welcome, whatever
    # began after it and was committed before the second the service's, and after that the
    # monolith's again. Registrations that straddle a marker go to one side or the other.
    before = {m for _, m, committed in registered if committed == "monolith"}
    during = {m for started, m, committed in registered if started == committed == "service"}
    after = {m for started, m, _ in registered if started == "monolith again"}
    assert before and during and after
    assert during <= sent_by_service
    assert not (before | after) & sent_by_service


def test_reconcile_is_clean_when_both_sides_agree_and_names_the_member_whose_copy_differs(extracted):
    member, _ = register()
    drain()
    wait_until(lambda: service_has(extracted, member), message="the service has the copy")
    # The service also holds earlier tests' members, which this test's database doesn't:
    # start it afresh from this monolith's history, as the runbook does, once nothing of
    # theirs is still on its way in (an earlier test's notification.sent applied after the
    # DELETE made reconcile name a member this database never had).
    wait_until(extracted.settled, message=lambda: f"the service has applied everything ({extracted.state()})")
    extracted.sql("DELETE FROM notifications_notification; DELETE FROM notifications_membercontact")
    extracted.sql("DELETE FROM blipay_applied_version WHERE consumer = 'notifications'")
    call_command("strangler", "backfill", "notifications", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("strangler", "reconcile", "notifications", stdout=(clean := io.StringIO()))
    assert "clean, 1 subject(s) identical" in clean.getvalue()

    extracted.sql("UPDATE notifications_notification SET body = 'changed' WHERE member_id = %s", (member,))
    out = io.StringIO()
    with pytest.raises(CommandError, match="differ"):
        call_command("strangler", "reconcile", "notifications", stdout=out)

    assert f"different: {member}" in out.getvalue()


def test_no_secret_reaches_the_services_logs_or_database_or_the_monoliths_logs(
    extracted, settings, monkeypatch, caplog
):
    signed: list[str] = []
    monkeypatch.setattr(forward, "sign", lambda **claims: signed.append(sign(**claims)) or signed[-1])
    caplog.set_level(logging.DEBUG)
    member, client = register()
    token = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    drain()
    wait_until(lambda: service_has(extracted, member), message="the service has the copy")
    set_route("notifications", "service")

    response, _ = notifications(client, member)
    refused, _ = notifications(APIClient(HTTP_AUTHORIZATION=f"Bearer {token[:-4]}AAAA"), member)

    assert (response["X-Served-By"], refused.status_code, len(signed)) == ("notifications", 401, 1)

    def service_logs() -> str:
        return "".join(path.read_text(errors="replace") for path in extracted.mail_dir.parent.rglob("*.log"))

    wait_until(lambda: f"/api/v1/members/{member}/notifications" in service_logs(), message="the service logged it")
    tables = [name for (name,) in extracted.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    rows = "".join(str(extracted.sql(f'SELECT * FROM "{table}"')) for table in tables)
    secrets = [token, token[:-4] + "AAAA", settings.BLIPAY_INTERNAL_KEY, ROTATED_KEY, *signed]
    for place in (service_logs(), rows, caplog.text):
        assert [secret for secret in secrets if secret in place] == []


def test_the_choreography_of_a_request_shows_what_the_service_applied_asked_from_its_own_inbox(extracted, admin_client):
    request_id = f"reg-{uuid.uuid4().hex[:8]}"
    email = f"{uuid.uuid4().hex[:10]}@example.id"
    registered = APIClient().post(
        "/api/v1/members",
        {"name": "Ani", "email": email, "phone": "+628123"},
        format="json",
        HTTP_X_REQUEST_ID=request_id,
    )
    assert registered.status_code == 201
    drain()
    in_service = "SELECT routing_key FROM blipay_inbox WHERE correlation_id = %s"
    wait_until(
        lambda: (
            {"member.saved.v1", "member.registered.v1"} <= {row[0] for row in extracted.sql(in_service, (request_id,))}
        ),
        message=lambda: f"the service applied the registration ({extracted.state()})",
    )

    page = admin_client.get(f"/admin/django_outbox_pattern/published/choreography/{request_id}/").content.decode()

    assert f"asked at {extracted.url}" in page
    assert "the side effects of notifications run in the monolith" in page  # no handover in this test
    assert "@ notifications service</text>" in page  # its own lane, beside the monolith's notifications
    assert "notifications @ notifications service: member.registered.v1 applied at" in page
    refused = signed_get(extracted.url, "/internal/trace/bad!id")
    assert refused.status == 400 and refused.json()["error"]["code"] == "validation_error"


def test_the_service_serves_its_own_metrics_added_up_over_its_processes(extracted):
    refused = http.request("GET", f"{extracted.url}/metrics")
    assert refused.status == 401
    assert json.loads(refused.data)["error"]["code"] == "unauthenticated"

    def scrape() -> Scrape:
        answer = http.request("GET", f"{extracted.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert answer.status == 200
        return Scrape(answer.data.decode())

    register()
    drain()  # the monolith relays member.saved; the service's consumers apply it
    # Counted by the service's consumers process; read by whichever gunicorn worker answers.
    applied = {"module": "notifications", "outcome": "applied"}
    wait_until(lambda: scrape().value("blipay_consumer_events_total", **applied) >= 1, message="applied in the scrape")
    metrics = scrape()
    assert metrics.value("blipay_http_requests_total", route="/metrics", status="401") >= 1
    queue = "blipay.service.notifications.notifications"
    assert metrics.has("blipay_queue_messages", module="notifications", queue=queue)
    assert metrics.has("blipay_outbox_pending")
