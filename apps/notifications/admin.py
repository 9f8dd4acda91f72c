"""Admin of the notifications module: everything here is fed by events, so it is read-only;
the one action queues the email of notifications that were never emailed."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.notifications.models import MemberContact, Notification
from apps.notifications.services import notifications_email_again
from blipay.admin import ReadOnly


@admin.register(MemberContact)
class MemberContactAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("member_id", "name", "email")
    search_fields = ("=member_id", "name", "email")


class EmailedFilter(admin.SimpleListFilter):
    title = "emailed"
    parameter_name = "emailed"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "yes"), ("no", "no: waiting or failed"), ("none", "no address known")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(emailed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(emailed_at__isnull=True).exclude(recipient="")
        if self.value() == "none":
            return queryset.filter(recipient="")
        return queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "kind", "member_id", "recipient", "subject", "emailed_at")
    list_filter = ("kind", "channel", EmailedFilter)
    search_fields = ("=id", "=member_id", "recipient", "subject", "=source_event_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    actions = ("email_again",)
    show_full_result_count = False

    @admin.action(description="Email the selected notifications that were never emailed")
    def email_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = notifications_email_again(notification_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} email(s) queued.")
