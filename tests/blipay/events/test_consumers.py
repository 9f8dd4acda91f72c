import json
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received

from blipay.events.broker import ConfirmingPublisher, OutgoingMessage, connect, dead_letter_queue
from blipay.events.consumers import consumers_in_threads
from blipay.events.outbox import Outbound, emit
from tests.eventsink.events import SinkPinged, SinkSaved
from tests.eventsink.models import Effect, Replica, Switch
from tests.helpers import consumer_count, postgres_test_db_url, queue_depth, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _ping(subject: str = "p", **data) -> str:
    with transaction.atomic():
        return emit(Outbound(SinkPinged(**data), subject=subject, sequence=0))[0].id


def _save(subject: str, sequence: int, name: str) -> str:
    with transaction.atomic():
        return emit(Outbound(SinkSaved(name=name), subject=subject, sequence=sequence))[0].id


def _applied(event_id: str) -> bool:
    return Received.objects.filter(msg_id=f"sink:{event_id}", status=StatusChoice.SUCCEEDED).exists()


def _republish(event_id: str) -> None:
    """Send a stored event to the broker once more, as a redelivery would."""
    body = Published.objects.get(id=event_id).body
    assert ConfirmingPublisher().publish([OutgoingMessage.from_envelope(body)]) == set()


def test_handler_runs_once_per_event_even_when_the_message_is_delivered_twice(consumer):
    first = _ping()
    _republish(first)
    _republish(first)
    sentinel = _ping("after")

    wait_until(lambda: _applied(sentinel), message="sentinel applied")
    assert list(Effect.objects.values_list("event_id", flat=True).order_by("id")) == [first, sentinel]


def test_state_event_older_than_the_replica_is_skipped(consumer):
    _save("m-1", 2, "newer")
    _save("m-1", 1, "older")
    sentinel = _ping()

    wait_until(lambda: _applied(sentinel), message="sentinel applied")
    replica = Replica.objects.get(subject="m-1")
    assert (replica.name, replica.sequence) == ("newer", 2)


def test_failing_handler_is_retried_then_recorded_failed_and_the_queue_moves_on(consumer):
    Switch.objects.create(subject="broken", mode=Switch.FAIL)
    failing = _ping("broken")
    sentinel = _ping("fine")

    wait_until(lambda: _applied(sentinel), message="sentinel applied")
    row = Received.objects.get(msg_id=f"sink:{failing}")
    assert row.status == StatusChoice.FAILED
    assert row.retry == settings.BLIPAY_EVENTS["CONSUMER_MAX_ATTEMPTS"]
    assert "switched to fail" in row.headers["error"]
    assert not Effect.objects.filter(subject="broken").exists()


@pytest.mark.rabbitmq
def test_failing_handler_parks_the_message_in_the_dead_letter_queue(consumer):
    Switch.objects.create(subject="broken", mode=Switch.FAIL)
    failing = _ping("broken")
    sentinel = _ping("fine")

    wait_until(lambda: _applied(sentinel), message="sentinel applied")
    with connect() as broker:
        message = dead_letter_queue("sink")(broker.channel()).get(no_ack=True)
    assert message is not None and json.loads(message.body)["id"] == failing
    assert message.headers["x-death"][0]["queue"] == "blipay.sink"


def test_failed_delivery_is_applied_by_the_admin_retry_once_the_cause_is_fixed(consumer, client):
    Switch.objects.create(subject="broken", mode=Switch.FAIL)
    failing = _ping("broken")
    wait_until(lambda: Received.objects.filter(msg_id=f"sink:{failing}", status=StatusChoice.FAILED).exists())
    Switch.objects.all().delete()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))

    row = Received.objects.get(msg_id=f"sink:{failing}")
    response = client.post(
        "/admin/django_outbox_pattern/received/",
        {"action": "retry_failed", "_selected_action": [str(row.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert "applied" in response.content.decode()
    assert Effect.objects.filter(event_id=failing).count() == 1
    assert _applied(failing)


def test_event_emitted_by_a_handler_carries_the_requests_correlation_and_its_cause(consumer, client):
    parent_id = client.get("/test/ping?echo=1", headers={"X-Request-ID": "req-chain"}).json()["event_id"]

    wait_until(lambda: Published.objects.filter(body__causation_id=parent_id).exists(), message="echo emitted")
    parent = Published.objects.get(id=parent_id).body
    child = Published.objects.get(body__causation_id=parent_id).body
    assert child["type"] == "sink.saved"
    assert child["correlation_id"] == "req-chain"
    assert child["traceparent"].split("-")[1] == parent["traceparent"].split("-")[1]


def test_trace_shows_the_causal_tree_and_which_module_handled_each_event(consumer, client, capsys):
    parent_id = client.get("/test/ping?echo=1", headers={"X-Request-ID": "req-trace"}).json()["event_id"]
    wait_until(lambda: Published.objects.filter(body__causation_id=parent_id).exists(), message="echo emitted")
    child_id = Published.objects.get(body__causation_id=parent_id).body["id"]
    wait_until(lambda: _applied(child_id), message="echo applied")

    call_command("events", "trace", "req-trace")

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("sink.pinged.v1 web") and parent_id in lines[0]
    assert lines[1].strip() == "handled by: sink (Succeeded)"
    assert lines[2].startswith("   └─ sink.saved.v1 web") and child_id in lines[2]
    assert lines[3].strip() == "handled by: sink (Succeeded)"


def test_replay_rebuilds_a_replica_from_stored_events_without_repeating_side_effects(consumer, capsys):
    _save("a", 1, "a1")
    _save("a", 2, "a2")
    _save("b", 1, "b1")
    sentinel = _ping()
    wait_until(lambda: _applied(sentinel), message="sentinel applied")
    Replica.objects.all().delete()

    call_command("events", "replay", "sink")

    assert dict(Replica.objects.values_list("subject", "name")) == {"a": "a2", "b": "b1"}
    assert Effect.objects.count() == 1
    shown = capsys.readouterr()
    assert "replayed 3 event(s) to sink: 3 applied" in shown.out
    assert "replay sink: 100%" in shown.err and "3/3" in shown.err  # the progress bar


@pytest.mark.postgres
@pytest.mark.rabbitmq
def test_message_of_a_consumer_killed_mid_handler_comes_back_and_is_applied_once(sink_queue):
    Switch.objects.create(subject="slow", mode=Switch.STALL)
    stalled = _ping("slow")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": postgres_test_db_url()}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "consume", "sink"], env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: queue_depth(sink_queue) == 0 and consumer_count(sink_queue) == 1, message="message taken")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    Switch.objects.all().delete()

    with consumers_in_threads(["sink"]):
        wait_until(lambda: _applied(stalled), message="redelivered message applied")
    assert Effect.objects.filter(event_id=stalled).count() == 1
