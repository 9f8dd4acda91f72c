"""``manage.py audit``: reconcile this deployment's data; exit status 1 on any discrepancy.

It lives in the platform, not in a module, because it only runs what is registered in
``blipay.audit``: the backbone and each module register the checks of their own data, so
the command knows no module and runs unchanged in an extracted service (with that
service's modules and database).
"""

import json
import time
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError, CommandParser

from blipay.audit import AuditOptions, audit_run


class Command(BaseCommand):
    help = "Reconcile the ledger, balances, read model, outbox, inbox and dead letters; exit 1 on a discrepancy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pending-seconds",
            type=int,
            default=60,
            help="an outbox row pending longer, or an event unapplied for longer, is a discrepancy (default 60)",
        )
        parser.add_argument("--limit", type=int, default=50, help="findings listed per check at most (default 50)")
        parser.add_argument("--json", action="store_true", help="print the result as one JSON document")

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        result = audit_run(AuditOptions(pending_seconds=options["pending_seconds"], limit=options["limit"]))
        seconds = round(time.monotonic() - started, 3)
        if options["json"]:
            document = {
                "clean": result.clean,
                "checks": result.ran,
                "skipped": result.skipped,
                "findings": [asdict(finding) for finding in result.findings],
                "seconds": seconds,
            }
            self.stdout.write(json.dumps(document, indent=2))
        else:
            for finding in result.findings:
                self.stdout.write(f"FAIL {finding.check} {finding.subject}: {finding.detail}")
            for name, reason in result.skipped.items():
                self.stdout.write(f"skip {name}: {reason}")
            verdict = "clean" if result.clean else f"{len(result.findings)} discrepancies"
            self.stdout.write(f"audit: {len(result.ran)} checks, {verdict} ({seconds} s)")
        if not result.clean:
            raise CommandError(f"audit found {len(result.findings)} discrepancies", returncode=1)
