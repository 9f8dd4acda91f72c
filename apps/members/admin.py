"""Admin for members: read-only. Profile changes go through ``services.member_update`` (the
API's PATCH), which emits member.saved; an edit here would leave every replica behind."""

from django.contrib import admin

from apps.members.models import Member
from blipay.admin import ReadOnly, member_link, member_requests


@admin.register(Member)
class MemberAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("name", "email", "phone", "created_at", "version", "member_page")
    search_fields = ("name", "email", "phone", "=id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = ("id", "name", "email", "phone", "version", "created_at", "updated_at", "member_page", "requests")
    readonly_fields = ("member_page", "requests")

    @admin.display(description="member page")
    def member_page(self, member: Member) -> str:
        # Profile, balance, ledger and notifications together: the overview module's page.
        return member_link(member.id, "balance, ledger and notifications")

    @admin.display(description="requests (choreography)")
    def requests(self, member: Member) -> str:
        return member_requests(member.id, since=member.created_at)
