"""Admin for merchants: read-only. A merchant changes through the module's services, which
emit merchant.saved; payments and promotions keep replicas fed by that event."""

from django.contrib import admin

from apps.merchants.models import Merchant
from blipay.admin import ReadOnly


@admin.register(Merchant)
class MerchantAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("name", "email", "created_at", "version", "id")
    search_fields = ("name", "email", "=id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = ("id", "name", "email", "version", "created_at", "updated_at")
