"""Pieces every module's admin uses. Modules may import the platform, not each other."""

from django.http import HttpRequest


class ReadOnly:
    """No add, change or delete: the admin only shows these rows. Money and event-fed data
    change only through the services, which write the ledger and emit events together."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
