"""Admin for the ledger: to look at, never to edit. A wrong posting is corrected by posting
another transaction through the wallet's services; PostgreSQL refuses row changes anyway."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.wallet.models import Account, Entry, LedgerTransaction
from blipay.admin import ReadOnly, member_link
from blipay.money import rupiah


class EntryInline(ReadOnly, admin.TabularInline):
    model = Entry
    fields = ("account", "amount_shown")
    readonly_fields = ("account", "amount_shown")
    extra = 0
    can_delete = False

    @admin.display(description="amount (+ credit, - debit)")
    def amount_shown(self, entry: Entry) -> str:
        return rupiah(entry.amount, signed=True)


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "kind", "member", "amount_shown", "balance_after_shown", "reference")
    list_filter = ("kind",)
    search_fields = ("=id", "=member_id", "=reference", "description")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = ("id", "kind", "member_id", "amount", "balance_after", "reference", "description", "created_at")
    inlines = (EntryInline,)
    show_full_result_count = False

    @admin.display(description="member", ordering="member_id")
    def member(self, row: LedgerTransaction) -> str:
        return member_link(row.member_id)

    @admin.display(description="amount (member's side)", ordering="amount")
    def amount_shown(self, row: LedgerTransaction) -> str:
        return rupiah(row.amount, signed=True)

    @admin.display(description="balance after", ordering="balance_after")
    def balance_after_shown(self, row: LedgerTransaction) -> str:
        return rupiah(row.balance_after)


@admin.register(Account)
class AccountAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("kind", "owner", "balance_shown", "version", "created_at")
    list_filter = ("kind",)
    search_fields = ("=owner",)
    ordering = ("kind", "owner")
    fields = ("kind", "owner", "balance", "version", "created_at")

    @admin.display(description="balance kept on the row", ordering="balance")
    def balance_shown(self, account: Account) -> str:
        # Only member accounts keep their balance on the row; the others are sums of entries.
        return rupiah(account.balance) if account.kind == Account.MEMBER else "sum of entries"


@admin.register(Entry)
class EntryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("transaction", "account", "amount_shown", "created_at")
    list_filter = ("account__kind", "transaction__kind")
    search_fields = ("=account__owner", "=transaction__id", "=transaction__reference")
    list_select_related = ("transaction", "account")
    ordering = ("-transaction__created_at",)
    fields = ("transaction", "account", "amount")
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("transaction", "account")

    @admin.display(description="amount (+ credit, - debit)", ordering="amount")
    def amount_shown(self, entry: Entry) -> str:
        return rupiah(entry.amount, signed=True)

    @admin.display(description="posted at", ordering="transaction__created_at")
    def created_at(self, entry: Entry) -> object:
        return entry.transaction.created_at
