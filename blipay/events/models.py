"""The backbone's own tables. The outbox is django-outbox-pattern's ``Published``; the
inbox is ``AppliedEvent`` (what each module applied), with the deliveries that failed kept
in django-outbox-pattern's ``Received``. Besides: per-consumer versions, ownership."""

from django.db import models


class AppliedVersion(models.Model):
    """The newest ``sequence`` of an aggregate that a consuming module has applied.

    A state event at or below it is stale (older than what the module's replica holds)
    and is skipped.
    """

    consumer = models.CharField(max_length=64)
    aggregate = models.CharField(max_length=64)
    subject = models.CharField(max_length=128)
    sequence = models.BigIntegerField()

    class Meta:
        db_table = "blipay_applied_version"
        constraints = [
            models.UniqueConstraint(fields=["consumer", "aggregate", "subject"], name="applied_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.aggregate} {self.subject} @ {self.sequence}"


class AppliedEvent(models.Model):
    """An event a consuming module has applied: its effects committed with this row, and a
    second delivery finds it and changes nothing. One index, the primary key; a delivery
    writes nothing else (no envelope: the outbox that emitted it keeps that).

    ``key`` is ``<module>:<event id>`` (a composite primary key would say the same, but the
    admin of Django 5.2 can't list such a model). The choreography picture reads the rest:
    ``causation_id`` links an event it knows only from here (a service emitted it) to its
    cause; ``attempts`` are the failures recorded before it was applied (the retry of a
    dead-lettered delivery)."""

    key = models.CharField(max_length=100, primary_key=True)
    consumer = models.CharField(max_length=64)
    routing_key = models.CharField(max_length=128)
    correlation_id = models.TextField()
    causation_id = models.TextField(null=True)
    applied_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "blipay_inbox"
        verbose_name, verbose_name_plural = "applied event", "inbox"

    def __str__(self) -> str:
        return f"{self.routing_key} {self.event_id} applied by {self.consumer}"

    @property
    def event_id(self) -> str:
        return self.key[len(self.consumer) + 1 :]


class RelayKick(models.Model):
    """A single row: set while a relay kick waits in Celery's queue or its task still
    lingers, cleared before the task's last pass. Commits that find it set need no kick of
    their own."""

    pending = models.BooleanField(default=False)

    class Meta:
        db_table = "blipay_relay_kick"

    def __str__(self) -> str:
        return "a kick is queued" if self.pending else "no kick queued"


class StreamPosition(models.Model):
    """How far a consuming module of this deployment has read the event stream: the time
    of the newest event it has applied. Two deployments answering differently while their
    positions differ are lagging, not disagreeing (the strangler's comparison reads it)."""

    consumer = models.CharField(max_length=64, primary_key=True)
    event_time = models.DateTimeField()

    class Meta:
        db_table = "blipay_stream_position"

    def __str__(self) -> str:
        return f"{self.consumer} @ {self.event_time.isoformat()}"


class ModuleOwner(models.Model):
    """Which deployment runs a module's side effects. No row: the monolith does. Changed
    only by a ``module.handover`` marker taken from the module's own queue, so every
    deployment switches at the same point of the stream."""

    module = models.CharField(max_length=64, primary_key=True)
    owner = models.CharField(max_length=64)
    epoch = models.PositiveBigIntegerField(default=0)
    marker_id = models.CharField(max_length=64)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "blipay_module_owner"

    def __str__(self) -> str:
        return f"{self.module}: owned by {self.owner} (epoch {self.epoch})"
