"""Admin for the overview read model, and the member page: profile, balance, ledger lines and
notifications of one member together, from the overview's own tables only.

Every row here is fed by events (member.saved, wallet.balance_changed, notification.sent) and
rebuilt by ``events replay overview``: nothing can be edited by hand.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import HttpRequest, HttpResponse

from apps.overview.models import MemberOverview, NotificationLine, TransactionLine
from blipay.admin import ReadOnly, admin_link, admin_url, member_link, member_requests
from blipay.money import rupiah

LINES_ON_MEMBER_PAGE = 20


@admin.register(MemberOverview)
class MemberOverviewAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("name", "email", "phone", "balance_shown", "created_at", "updated_at")
    search_fields = ("name", "email", "phone", "=member_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = ("member_id", "name", "email", "phone", "created_at", "balance_shown", "updated_at", "requests")
    readonly_fields = ("balance_shown", "requests")
    show_full_result_count = False

    @admin.display(description="balance", ordering="balance")
    def balance_shown(self, row: MemberOverview) -> str:
        return rupiah(row.balance)

    @admin.display(description="requests (choreography)")
    def requests(self, row: MemberOverview) -> str:
        return member_requests(row.member_id, since=row.created_at)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        # An unknown or malformed id gets Django's own "doesn't exist" redirect.
        member = self.get_object(request, unquote(object_id))
        lines = _lines(str(member.member_id)) if member is not None else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **lines})


def _lines(member_id: str) -> dict:
    """What the member page shows under the profile: the newest ledger lines and notifications."""
    transactions = TransactionLine.objects.filter(member_id=member_id).order_by("-created_at")
    notifications = NotificationLine.objects.filter(member_id=member_id).order_by("-created_at")
    return {
        "transaction_lines": [
            {
                "line": line,
                "amount": rupiah(line.amount, signed=True),
                "balance_after": rupiah(line.balance_after),
                "ledger_url": admin_url("wallet.ledgertransaction", line.id),
            }
            for line in transactions[:LINES_ON_MEMBER_PAGE]
        ],
        "transaction_count": transactions.count(),
        "transactions_url": admin_url("overview.transactionline", member_id=member_id),
        "ledger_url": admin_url("wallet.ledgertransaction", member_id=member_id),
        "notification_lines": list(notifications[:LINES_ON_MEMBER_PAGE]),
        "notification_count": notifications.count(),
        "notifications_url": admin_url("overview.notificationline", member_id=member_id),
    }


@admin.register(TransactionLine)
class TransactionLineAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "member", "kind", "amount_shown", "balance_after_shown", "description", "ledger")
    list_filter = ("kind",)
    search_fields = ("=member_id", "=id", "description")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False

    @admin.display(description="member", ordering="member_id")
    def member(self, line: TransactionLine) -> str:
        return member_link(line.member_id)

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, line: TransactionLine) -> str:
        return rupiah(line.amount, signed=True)

    @admin.display(description="balance after", ordering="balance_after")
    def balance_after_shown(self, line: TransactionLine) -> str:
        return rupiah(line.balance_after)

    @admin.display(description="ledger")
    def ledger(self, line: TransactionLine) -> str:
        # The line's id is the ledger transaction's id (wallet module), linked by URL.
        return admin_link("wallet.ledgertransaction", line.id, "entries")


@admin.register(NotificationLine)
class NotificationLineAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "member", "kind", "subject")
    list_filter = ("kind",)
    search_fields = ("=member_id", "=id", "subject")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False

    @admin.display(description="member", ordering="member_id")
    def member(self, line: NotificationLine) -> str:
        return member_link(line.member_id)
