"""Credentials in the admin: who holds one, since when, and a way to revoke it. The secret
itself is nowhere to show (only its hash is stored): the prefix recognises it."""

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from blipay.admin import ReadOnly
from blipay.identity.credentials import credentials_revoke
from blipay.identity.models import Credential


class CredentialAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("prefix", "kind", "subject", "created_at", "revoked_at")
    list_filter = ("kind", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("=subject", "=prefix")
    ordering = ("-created_at",)
    exclude = ("key_hash",)
    actions = ("revoke",)

    @admin.action(description="Revoke the selected credentials")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = credentials_revoke(credential_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} credential(s) revoked.")


if not settings.BLIPAY_SERVICE:  # a service keeps no credential table (blipay.db_router)
    admin.site.register(Credential, CredentialAdmin)
