from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.notifications.services import notifications_purge


class Command(BaseCommand):
    help = (
        "Look after the notifications this deployment keeps. "
        "'notifications purge [--days N]': delete the notifications older than the retention "
        "(BLIPAY_NOTIFICATION_RETENTION_DAYS) and their copies: sent mail files, the overview's "
        "lines, their events in the outbox and inbox. Beat runs it hourly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        purge = sub.add_parser("purge", help="delete notifications past their retention, and their copies")
        purge.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"keep this many days instead (default BLIPAY_NOTIFICATION_RETENTION_DAYS, now "
            f"{settings.BLIPAY_NOTIFICATION_RETENTION_DAYS})",
        )

    def handle(self, *args, action: str, days: int | None, **options) -> None:
        if days is not None and days < 0:
            raise CommandError("--days is a number of days to keep, 0 or more")
        purged = notifications_purge(older_than_days=days)
        self.stdout.write(
            f"deleted what was created before {purged.before.isoformat(timespec='seconds')}: "
            f"{purged.notifications} notifications, {purged.mail_files} mail files, "
            f"{purged.overview_lines} overview lines, {purged.outbox_events} outbox events, "
            f"{purged.inbox_deliveries} inbox deliveries"
        )
