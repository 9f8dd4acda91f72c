import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received

from apps.merchants.events import MerchantSaved
from blipay.events import consumers
from blipay.events.broker import EXCHANGE, ConfirmingPublisher, OutgoingMessage, connect, dead_letter_queue
from blipay.events.consumers import Outcome, consumers_in_threads, deliver, deliver_many, drain
from blipay.events.context import caused_by
from blipay.events.inbox import delete_old_applied, delete_received_of, record_failure
from blipay.events.models import AppliedEvent
from blipay.events.outbox import Outbound, emit, envelope_of
from blipay.observability.logs import JsonFormatter
from tests.eventsink.events import SinkPinged, SinkSaved
from tests.eventsink.handlers import HandlerFailed, runs
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
    return AppliedEvent.objects.filter(key=f"sink:{event_id}").exists()


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


def test_a_direct_duplicate_delivery_runs_a_handler_that_is_not_idempotent_by_itself_once():
    # effect_record writes one row per run: only the inbox stands between a repeat and a
    # second row. No broker, no thread: the same envelope handed over again, at once.
    pinged = envelope_of(Outbound(SinkPinged(), subject="dup", sequence=0))

    assert deliver("sink", pinged) is Outcome.APPLIED
    assert deliver("sink", pinged) is Outcome.DUPLICATE
    assert deliver_many("sink", [pinged, pinged]) == [Outcome.DUPLICATE, Outcome.DUPLICATE]

    assert list(Effect.objects.values_list("event_id", flat=True)) == [pinged.id]
    assert runs[pinged.id] == 1
    assert _applied(pinged.id)


def test_the_same_event_twice_in_one_batch_runs_its_handler_once():
    pinged = envelope_of(Outbound(SinkPinged(), subject="dup", sequence=0))
    other = envelope_of(Outbound(SinkPinged(), subject="dup", sequence=0))

    outcomes = deliver_many("sink", [pinged, other, pinged])

    assert outcomes[1] is Outcome.APPLIED
    assert Effect.objects.filter(event_id=pinged.id).count() == 1
    assert Effect.objects.filter(event_id=other.id).count() == 1
    assert runs[pinged.id] == 1


def test_a_state_event_older_than_what_the_module_holds_is_stale_and_changes_nothing():
    newer = envelope_of(Outbound(SinkSaved(name="newer"), subject="m-2", sequence=2))
    older = envelope_of(Outbound(SinkSaved(name="older"), subject="m-2", sequence=1))
    same = envelope_of(Outbound(SinkSaved(name="same"), subject="m-2", sequence=2))

    assert deliver("sink", newer) is Outcome.APPLIED
    assert deliver_many("sink", [older, same]) == [Outcome.STALE, Outcome.STALE]
    assert deliver("sink", older) is Outcome.DUPLICATE

    replica = Replica.objects.get(subject="m-2")
    assert (replica.name, replica.sequence) == ("newer", 2)


def test_state_events_of_one_batch_apply_in_order_and_only_the_newer_ones(settings):
    first = envelope_of(Outbound(SinkSaved(name="one"), subject="m-3", sequence=1))
    third = envelope_of(Outbound(SinkSaved(name="three"), subject="m-3", sequence=3))
    second = envelope_of(Outbound(SinkSaved(name="two"), subject="m-3", sequence=2))
    elsewhere = envelope_of(Outbound(SinkSaved(name="else"), subject="m-4", sequence=5))

    outcomes = deliver_many("sink", [first, third, second, elsewhere])

    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED, Outcome.STALE, Outcome.APPLIED]
    assert dict(Replica.objects.values_list("subject", "sequence")) == {"m-3": 3, "m-4": 5}
    # The module now holds the newest of the batch: later deliveries are judged against it.
    late = envelope_of(Outbound(SinkSaved(name="late"), subject="m-3", sequence=3))
    fourth = envelope_of(Outbound(SinkSaved(name="four"), subject="m-3", sequence=4))
    assert deliver_many("sink", [late, fourth]) == [Outcome.STALE, Outcome.APPLIED]
    assert Replica.objects.get(subject="m-3").name == "four"


def test_each_module_judges_staleness_by_the_versions_it_holds_itself():
    # merchant.saved feeds both payments and promotions; what one module holds says nothing
    # about what the other has applied.
    merchant_id, now = str(uuid.uuid4()), timezone.now()

    def saved(sequence: int):
        merchant = MerchantSaved(id=merchant_id, name=f"v{sequence}", email="m@x.id", created_at=now, updated_at=now)
        return envelope_of(Outbound(merchant, subject=merchant_id, sequence=sequence))

    assert deliver("promotions", saved(1)) is Outcome.APPLIED
    assert deliver("payments", saved(5)) is Outcome.APPLIED
    assert deliver("promotions", saved(2)) is Outcome.APPLIED
    assert deliver("payments", saved(4)) is Outcome.STALE


def test_a_failed_delivery_changes_nothing_and_a_later_delivery_applies_it_once():
    Switch.objects.create(subject="once", mode=Switch.FAIL, times=1)
    pinged = envelope_of(Outbound(SinkPinged(), subject="once", sequence=0))

    with pytest.raises(HandlerFailed):
        deliver("sink", pinged)
    assert not Received.objects.filter(msg_id=f"sink:{pinged.id}").exists()
    assert not _applied(pinged.id)
    assert not Effect.objects.exists()

    assert deliver("sink", pinged) is Outcome.APPLIED
    assert deliver("sink", pinged) is Outcome.DUPLICATE
    assert Effect.objects.filter(event_id=pinged.id).count() == 1
    assert runs[pinged.id] == 2


def test_handler_failing_twice_is_retried_until_it_succeeds_then_applied_once(sink_queue):
    # The consumer's first try is the batch; then the message alone, up to
    # CONSUMER_MAX_ATTEMPTS (3 in the tests) times. Two failures leave one try to spare.
    Switch.objects.create(subject="flaky", mode=Switch.FAIL, times=2)
    flaky = _ping("flaky")

    drain()

    assert runs[flaky] == 3
    assert Effect.objects.filter(event_id=flaky).count() == 1
    assert _applied(flaky)


def test_handler_failing_every_try_is_tried_the_configured_number_of_times_then_kept_failed(sink_queue):
    Switch.objects.create(subject="broken", mode=Switch.FAIL)
    failing = _ping("broken")
    sentinel = _ping("fine")

    drain()

    attempts = settings.BLIPAY_EVENTS["CONSUMER_MAX_ATTEMPTS"]
    assert runs[failing] == 1 + attempts  # the batch, then each attempt alone
    row = Received.objects.get(msg_id=f"sink:{failing}")
    assert (row.status, row.retry, row.headers["attempts"]) == (StatusChoice.FAILED, attempts, attempts)
    assert "switched to fail" in row.headers["error"]
    assert not Effect.objects.filter(subject="broken").exists()
    assert _applied(sentinel)
    assert Effect.objects.filter(event_id=sentinel).count() == 1


class _SleepsRecorded:
    """The consumers' ``time`` with ``sleep`` recorded instead of slept; the rest is the
    real module's (the consumers also read clocks, e.g. for their lag)."""

    def __init__(self, waits: list[float]) -> None:
        self.sleep = waits.append

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def test_attempts_are_spaced_by_a_doubling_backoff_and_none_follows_the_last(sink_queue, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(consumers, "time", _SleepsRecorded(waits))
    Switch.objects.create(subject="broken", mode=Switch.FAIL)
    _ping("broken")

    drain()

    base = settings.BLIPAY_EVENTS["CONSUMER_RETRY_BASE_SECONDS"]
    assert settings.BLIPAY_EVENTS["CONSUMER_MAX_ATTEMPTS"] == 3
    assert waits == [base, 2 * base]  # after attempts 1 and 2; the third is dead-lettered at once


def test_a_failing_delivery_is_logged_attempt_by_attempt_then_dead_lettered(sink_queue, caplog):
    caplog.set_level(logging.DEBUG, logger="blipay.events.consumers")
    Switch.objects.create(subject="broken", mode=Switch.FAIL)
    failing = _ping("broken")

    drain()

    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "blipay.events.consumers"]
    error = "HandlerFailed: switched to fail for broken"
    assert logged == [
        (
            "WARNING",
            "sink: a batch of 1 failed (HandlerFailed('switched to fail for broken (run 1)')); delivering one by one",
        ),
        ("WARNING", f"sink: sink.pinged {failing} failed (attempt 1): {error} (run 2)"),
        ("WARNING", f"sink: sink.pinged {failing} failed (attempt 2): {error} (run 3)"),
        ("WARNING", f"sink: sink.pinged {failing} failed (attempt 3): {error} (run 4)"),
        ("ERROR", f"sink: sink.pinged {failing} dead-lettered after 3 attempts"),
    ]


def test_each_attempt_of_a_failing_delivery_is_logged_with_the_events_ids(sink_queue):
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("blipay.events.consumers")
    Switch.objects.create(subject="broken", mode=Switch.FAIL)
    with caused_by(correlation_id="req-logged-1", causation_id="the-cause", traceparent=None):
        failing = _ping("broken")
    logger.addHandler(handler)
    try:
        drain()
    finally:
        logger.removeHandler(handler)

    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    attempts = [line for line in logged if "failed (attempt" in line["message"]]
    ids = {(line["module"], line["event_id"], line["correlation_id"], line["causation_id"]) for line in attempts}
    assert len(attempts) == settings.BLIPAY_EVENTS["CONSUMER_MAX_ATTEMPTS"]
    assert ids == {("sink", failing, "req-logged-1", "the-cause")}


def test_an_unreadable_message_is_set_aside_logged_and_the_queue_moves_on(sink_queue, caplog):
    with connect() as broker:
        producer = broker.Producer()
        producer.publish(b"not json", exchange=EXCHANGE, routing_key="sink.pinged.v1", content_type="application/json")
        stranger = {**envelope_of(Outbound(SinkPinged(), subject="p", sequence=0)).to_dict(), "type": "sink.unknown"}
        producer.publish(json.dumps(stranger), exchange=EXCHANGE, routing_key="sink.pinged.v1")
    sentinel = _ping()

    drain()

    assert _applied(sentinel)
    assert AppliedEvent.objects.filter(consumer="sink").count() == 1
    assert not Received.objects.exists()
    unreadable = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(unreadable) == 2
    assert all(m.startswith("sink: unreadable message") and "dead-lettered" in m for m in unreadable)
    assert queue_depth(sink_queue) == 0


def test_a_delivery_applied_is_logged_at_debug(sink_queue, caplog):
    caplog.set_level(logging.DEBUG, logger="blipay.events.consumers")
    Switch.objects.create(subject="once", mode=Switch.FAIL, times=1)
    pinged = _ping("once")

    drain()

    assert f"sink: sink.pinged {pinged} applied" in [r.getMessage() for r in caplog.records if r.levelname == "DEBUG"]


def test_inbox_retention_forgets_old_applied_deliveries_and_keeps_failed_and_recent_ones():
    old, recent = (envelope_of(Outbound(SinkPinged(), subject=s, sequence=0)) for s in ("old", "recent"))
    deliver("sink", old)
    deliver("sink", recent)
    failed = envelope_of(Outbound(SinkPinged(), subject="failed", sequence=0))
    record_failure("sink", failed, attempts=3, error="boom")
    month_ago = timezone.now() - timedelta(days=31)
    AppliedEvent.objects.filter(key=f"sink:{old.id}").update(applied_at=month_ago)
    AppliedEvent.objects.filter(key=f"sink:{recent.id}").update(applied_at=month_ago + timedelta(days=1, seconds=5))
    Received.objects.update(added=month_ago)

    assert delete_old_applied(older_than=timedelta(days=30)) == 1

    assert set(AppliedEvent.objects.values_list("key", flat=True)) == {f"sink:{recent.id}"}
    assert set(Received.objects.values_list("msg_id", flat=True)) == {f"sink:{failed.id}"}
    assert deliver("sink", recent) is Outcome.DUPLICATE
    assert deliver("sink", old) is Outcome.APPLIED  # past retention: no longer caught


def test_forgetting_the_deliveries_of_a_type_keeps_other_types_and_later_ones_applied_or_failed():
    old_ping, new_ping, failed_old_ping, failed_new_ping = (
        envelope_of(Outbound(SinkPinged(), subject=subject, sequence=0)) for subject in ("op", "np", "fo", "fn")
    )
    old_save, failed_old_save = (
        envelope_of(Outbound(SinkSaved(name=subject), subject=subject, sequence=1)) for subject in ("os", "fs")
    )
    deliver_many("sink", [old_ping, new_ping, old_save])
    for envelope in (failed_old_ping, failed_new_ping, failed_old_save):
        record_failure("sink", envelope, attempts=3, error="boom")
    then = timezone.now() - timedelta(days=100)
    AppliedEvent.objects.exclude(key=f"sink:{new_ping.id}").update(applied_at=then)
    Received.objects.exclude(msg_id=f"sink:{failed_new_ping.id}").update(added=then)

    deleted = delete_received_of(routing_keys=["sink.pinged.v1"], before=timezone.now() - timedelta(days=90))

    assert deleted == 2
    assert set(AppliedEvent.objects.values_list("key", flat=True)) == {f"sink:{new_ping.id}", f"sink:{old_save.id}"}
    assert set(Received.objects.values_list("msg_id", flat=True)) == {
        f"sink:{failed_new_ping.id}",
        f"sink:{failed_old_save.id}",
    }


def test_an_applied_row_holds_the_events_type_request_cause_and_when():
    cause = envelope_of(Outbound(SinkPinged(), subject="c", sequence=0))
    pinged = envelope_of(Outbound(SinkPinged(), subject="r", sequence=0))
    pinged = type(pinged)(**(pinged.to_dict() | {"correlation_id": "req-row", "causation_id": cause.id}))
    before = timezone.now()

    deliver("sink", pinged)

    row = AppliedEvent.objects.get()
    assert (row.key, row.consumer, row.event_id, row.routing_key) == (
        f"sink:{pinged.id}",
        "sink",
        pinged.id,
        "sink.pinged.v1",
    )
    assert (row.correlation_id, row.causation_id, row.attempts) == ("req-row", cause.id, 0)
    assert before <= row.applied_at <= timezone.now()
    assert str(row) == f"sink.pinged.v1 {pinged.id} applied by sink"


def test_a_delivery_kept_failed_then_applied_leaves_one_applied_row_with_its_attempts_and_no_failure():
    failed, other = (envelope_of(Outbound(SinkPinged(), subject=s, sequence=0)) for s in ("failed", "other"))
    record_failure("sink", failed, attempts=3, error="boom")
    record_failure("sink", other, attempts=2, error="boom")

    assert deliver_many("sink", [failed]) == [Outcome.APPLIED]

    assert [(row.key, row.attempts) for row in AppliedEvent.objects.all()] == [(f"sink:{failed.id}", 3)]
    assert list(Received.objects.values_list("msg_id", flat=True)) == [f"sink:{other.id}"]  # only its own
    assert deliver("sink", failed) is Outcome.DUPLICATE
    assert Effect.objects.filter(event_id=failed.id).count() == 1


def test_a_failure_of_an_event_already_applied_is_not_recorded():
    pinged = envelope_of(Outbound(SinkPinged(), subject="done", sequence=0))
    deliver("sink", pinged)

    record_failure("sink", pinged, attempts=3, error="a late attempt elsewhere")

    assert not Received.objects.exists()
    assert _applied(pinged.id)


def test_a_failure_recorded_again_adds_its_attempts_and_keeps_the_latest_error():
    failed = envelope_of(Outbound(SinkPinged(), subject="failed", sequence=0))
    record_failure("sink", failed, attempts=3, error="first")
    record_failure("sink", failed, attempts=3, error="second")

    row = Received.objects.get(msg_id=f"sink:{failed.id}")
    assert (row.status, row.retry, row.headers["error"], row.headers["attempts"]) == (
        StatusChoice.FAILED,
        6,
        "second",
        3,
    )
    assert row.headers["event_id"] == failed.id and row.headers["consumer"] == "sink"
    assert (row.headers["destination"], row.headers["correlation_id"]) == ("sink.pinged.v1", failed.correlation_id)


def _deliver_at_once(envelope, consumers: int = 4) -> list[Outcome]:
    barrier = threading.Barrier(consumers)
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            barrier.wait(10)
            outcomes.append(deliver("sink", envelope))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=consume) for _ in range(consumers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    return outcomes


@pytest.mark.postgres
def test_the_same_event_delivered_by_two_consumers_at_once_runs_its_handler_once():
    pinged = envelope_of(Outbound(SinkPinged(), subject="race", sequence=0))

    outcomes = _deliver_at_once(pinged)

    assert sorted(o.value for o in outcomes) == ["applied", "duplicate", "duplicate", "duplicate"]
    assert Effect.objects.filter(event_id=pinged.id).count() == 1
    assert AppliedEvent.objects.filter(key=f"sink:{pinged.id}").count() == 1


@pytest.mark.postgres
def test_an_event_kept_failed_delivered_by_consumers_at_once_is_applied_once_and_its_failure_removed():
    pinged = envelope_of(Outbound(SinkPinged(), subject="race", sequence=0))
    record_failure("sink", pinged, attempts=3, error="boom")

    outcomes = _deliver_at_once(pinged)

    assert sorted(o.value for o in outcomes) == ["applied", "duplicate", "duplicate", "duplicate"]
    assert Effect.objects.filter(event_id=pinged.id).count() == 1
    assert list(AppliedEvent.objects.values_list("key", "attempts")) == [(f"sink:{pinged.id}", 3)]
    assert not Received.objects.exists()


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
    assert AppliedEvent.objects.get(key=f"sink:{failing}").attempts == settings.BLIPAY_EVENTS["CONSUMER_MAX_ATTEMPTS"]
    assert not Received.objects.filter(msg_id=f"sink:{failing}").exists()  # no longer listed as failed


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
