from django.db import models


class Replica(models.Model):
    """What the sink module holds of a ``sink.saved`` aggregate (event-carried state)."""

    subject = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=64)
    sequence = models.BigIntegerField()


class Effect(models.Model):
    """One row per time a non-idempotent handler ran (a stand-in for "send an email")."""

    event_id = models.CharField(max_length=64)
    subject = models.CharField(max_length=64)


class Switch(models.Model):
    """Tests flip these to make the sink's handler fail or stall for one subject."""

    FAIL = "fail"
    STALL = "stall"

    subject = models.CharField(max_length=64)
    mode = models.CharField(max_length=8, choices=[(FAIL, FAIL), (STALL, STALL)])
    times = models.PositiveIntegerField(default=0, help_text="fail: the first this many runs fail; 0: every run")
