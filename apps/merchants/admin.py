"""Admin for merchants: read-only. A merchant changes through the module's services, which
emit merchant.saved; payments and promotions keep replicas fed by that event."""

from django.contrib import admin
from django.http import HttpRequest

from apps.merchants.models import Merchant


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "created_at", "version", "id")
    search_fields = ("name", "email", "=id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = ("id", "name", "email", "version", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Merchant | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Merchant | None = None) -> bool:
        return False
