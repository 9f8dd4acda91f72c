"""Pieces every module's admin uses. Modules may import the platform, not each other."""

from django.contrib import admin
from django.http import HttpRequest

admin.site.site_header = "Blipay administration"
admin.site.site_title = "Blipay admin"
admin.site.index_title = "Members, money and events"


class ReadOnly:
    """No add, change or delete: the admin only shows these rows. Money and event-fed data
    change only through the services, which write the ledger and emit events together."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def rupiah(amount: int, *, signed: bool = False) -> str:
    return f"Rp {amount:+,}" if signed else f"Rp {amount:,}"
