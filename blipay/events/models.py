"""The backbone's own table. The outbox and the inbox are django-outbox-pattern's
``Published`` and ``Received``; this adds what they lack: per-consumer versions."""

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


class RelayKick(models.Model):
    """A single row: set while a relay kick waits in Celery's queue, cleared when the relay
    starts draining. Commits that find it set need no kick of their own."""

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
