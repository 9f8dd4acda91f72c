"""Admin for payments: top-ups, the bank's confirmations, payments and refunds.

Everything is read-only: money moves only through the services (the API), which post to the
ledger and emit events in one transaction. Refused bank confirmations are one click away:
filter "result: refused", or by outcome; each shows its reason, status code and response.
"""

import json

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html
from rest_framework.response import Response

from apps.payments.api import bank_answer
from apps.payments.models import BankNotification, MerchantReplica, Payment, Refund, TopUp
from apps.payments.services import BankConfirmation
from blipay.admin import ReadOnly, admin_link, admin_url, choreography_links, member_link
from blipay.money import rupiah


def pretty_json(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(TopUp)
class TopUpAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "reference", "member", "amount_shown", "status", "expires_at", "paid_at")
    list_filter = ("status",)
    search_fields = ("=reference", "=member_id", "=bank_transaction_id", "=id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = (
        "id",
        "reference",
        "member",
        "amount",
        "status",
        "expires_at",
        "paid_at",
        "bank_transaction_id",
        "version",
        "created_at",
        "bank_notifications",
        "requests",
    )
    readonly_fields = ("member", "bank_notifications", "requests")
    show_full_result_count = False

    @admin.display(description="member", ordering="member_id")
    def member(self, topup: TopUp) -> str:
        return member_link(topup.member_id)

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, topup: TopUp) -> str:
        return rupiah(topup.amount)

    @admin.display(description="bank confirmations")
    def bank_notifications(self, topup: TopUp) -> str:
        count = BankNotification.objects.filter(reference=topup.reference).count()
        url = admin_url("payments.banknotification", reference=topup.reference)
        return format_html('<a href="{}">{} received for {}</a>', url, count, topup.reference)

    @admin.display(description="requests (choreography)")
    def requests(self, topup: TopUp) -> str:
        return choreography_links(topup.id, ["topup.saved"], since=topup.created_at)


class ResultFilter(admin.SimpleListFilter):
    """Credited or refused, whatever the reason: refused ones are what an operator looks for."""

    title = "result"
    parameter_name = "result"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("credited", "credited"), ("refused", "refused")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "credited":
            return queryset.filter(outcome=BankNotification.CREDITED)
        if self.value() == "refused":
            return queryset.exclude(outcome=BankNotification.CREDITED)
        return queryset


@admin.register(BankNotification)
class BankNotificationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "received_at",
        "bank_transaction_id",
        "reference",
        "amount_shown",
        "outcome",
        "status_code",
        "reason",
    )
    list_filter = (ResultFilter, "outcome")
    search_fields = ("=reference", "=bank_transaction_id", "=topup_id")
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    fields = (
        "received_at",
        "bank_transaction_id",
        "reference",
        "topup",
        "amount",
        "paid_at",
        "outcome",
        "status_code",
        "reason",
        "response_shown",
        "payload_shown",
    )
    readonly_fields = ("topup", "status_code", "reason", "response_shown", "payload_shown")
    show_full_result_count = False

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, row: BankNotification) -> str:
        return rupiah(row.amount)

    @admin.display(description="status code")
    def status_code(self, row: BankNotification) -> int:
        return _answer(row).status_code

    @admin.display(description="reason")
    def reason(self, row: BankNotification) -> str:
        if row.outcome == BankNotification.CREDITED:
            return "-"
        return row.message or row.get_outcome_display()

    @admin.display(description="top-up")
    def topup(self, row: BankNotification) -> str:
        if row.topup_id is None:
            return "none has this reference"
        return admin_link("payments.topup", row.topup_id)

    @admin.display(description="our answer (body)")
    def response_shown(self, row: BankNotification) -> str:
        return pretty_json(_answer(row).data)

    @admin.display(description="the bank's body")
    def payload_shown(self, row: BankNotification) -> str:
        return pretty_json(row.payload)


def _answer(row: BankNotification) -> Response:
    # The answer is derived, not stored: shown exactly as the API renders it.
    return bank_answer(BankConfirmation.of(row))


class RefundInline(ReadOnly, admin.TabularInline):
    model = Refund
    fields = ("id", "amount", "reason", "status", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Payment)
class PaymentAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "id", "member", "merchant", "amount_shown", "refunded_shown", "status")
    list_filter = ("status",)
    search_fields = ("=id", "=member_id", "=merchant_id", "description")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = (
        "id",
        "member",
        "merchant",
        "amount",
        "refunded_amount",
        "description",
        "status",
        "version",
        "created_at",
        "requests",
    )
    readonly_fields = ("member", "merchant", "requests")
    inlines = (RefundInline,)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        name = MerchantReplica.objects.filter(id=OuterRef("merchant_id")).values("name")[:1]
        return super().get_queryset(request).annotate(merchant_name=Subquery(name))

    @admin.display(description="member", ordering="member_id")
    def member(self, payment: Payment) -> str:
        return member_link(payment.member_id)

    @admin.display(description="merchant", ordering="merchant_name")
    def merchant(self, payment: Payment) -> str:
        return f"{payment.merchant_name} ({payment.merchant_id})" if payment.merchant_name else str(payment.merchant_id)

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, payment: Payment) -> str:
        return rupiah(payment.amount)

    @admin.display(description="refunded", ordering="refunded_amount")
    def refunded_shown(self, payment: Payment) -> str:
        return rupiah(payment.refunded_amount)

    @admin.display(description="requests (choreography)")
    def requests(self, payment: Payment) -> str:
        # The payment's own request and each refund's (a refund saves the payment again).
        return choreography_links(payment.id, ["payment.saved", "payment.made"], since=payment.created_at)


@admin.register(Refund)
class RefundAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "id", "payment", "amount_shown", "reason", "status")
    list_filter = ("status",)
    search_fields = ("=id", "=payment__id", "=payment__member_id", "=payment__merchant_id", "reason")
    list_select_related = ("payment",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = ("id", "payment", "amount", "reason", "status", "created_at", "requests")
    readonly_fields = ("requests",)
    show_full_result_count = False

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, refund: Refund) -> str:
        return rupiah(refund.amount)

    @admin.display(description="requests (choreography)")
    def requests(self, refund: Refund) -> str:
        return choreography_links(refund.id, ["refund.saved"], since=refund.created_at)


@admin.register(MerchantReplica)
class MerchantReplicaAdmin(ReadOnly, admin.ModelAdmin):
    """What payments knows of merchants, fed by merchant.saved: rebuilt by `events replay payments`."""

    list_display = ("name", "id")
    search_fields = ("name", "=id")
    ordering = ("name",)
