"""Reconciliation: checks that what the data says adds up (``manage.py audit``).

Each owner registers the checks of its own data (like digests): the backbone its outbox,
inbox and dead-letter queues, each module its tables, from its app config. A check is one
or a few set-based queries, never a loop over rows, so it runs on millions of ledger rows;
it returns at most ``limit`` findings, or raises AuditSkipped to say why it could not run.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class AuditOptions:
    pending_seconds: int = 60
    limit: int = 50

    @property
    def pending_before(self) -> datetime:
        """Younger than this, an event may still be on its way: not a discrepancy yet."""
        return timezone.now() - timedelta(seconds=self.pending_seconds)

    @property
    def window_start(self) -> datetime:
        """The oldest rows the outbox and inbox still keep (their retention), less an hour's
        margin for the cleanup task running at any moment."""
        retention = timedelta(days=settings.BLIPAY_EVENTS["OUTBOX_RETENTION_DAYS"])
        return timezone.now() - retention + timedelta(hours=1)


class AuditSkipped(Exception):
    """A check that could not run here; the message says why (not a discrepancy)."""


Check = Callable[[AuditOptions], list[Finding]]

_checks: dict[str, Check] = {}


def register_check(name: str, check: Check) -> None:
    if name in _checks and _checks[name] is not check:
        raise ValueError(f"audit check {name!r} is registered twice")
    _checks[name] = check


def checks() -> dict[str, Check]:
    return dict(sorted(_checks.items()))


@dataclass(frozen=True)
class AuditResult:
    findings: list[Finding]
    skipped: dict[str, str]
    ran: list[str]

    @property
    def clean(self) -> bool:
        return not self.findings


def audit_run(options: AuditOptions) -> AuditResult:
    findings, skipped, ran = [], {}, []
    for name, check in checks().items():
        try:
            findings += check(options)
        except AuditSkipped as exc:
            skipped[name] = str(exc)
        else:
            ran.append(name)
    return AuditResult(findings=findings, skipped=skipped, ran=ran)
