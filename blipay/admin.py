"""Pieces every module's admin uses. Modules may import the platform, not each other."""

from datetime import datetime
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from blipay.events.choreography import requests_about
from blipay.events.context import CORRELATION_ID

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


def admin_url(model: str, object_id: object = None, **filters: object) -> str:
    """The admin page of ``model`` ("app_label.modelname"): the object's page when
    ``object_id`` is given, else the list, filtered by ``filters``. Modules link to each
    other's pages through this, by name: no module imports another's admin."""
    app_label, model_name = model.lower().split(".")
    if object_id is not None:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[object_id])
    query = f"?{urlencode(filters)}" if filters else ""
    return reverse(f"admin:{app_label}_{model_name}_changelist") + query


def admin_link(model: str, object_id: object, text: object = None) -> str:
    """An HTML link to the object's admin page, showing ``text`` (its id unless given)."""
    return format_html('<a href="{}">{}</a>', admin_url(model, object_id), object_id if text is None else text)


def member_link(member_id: object, text: object = None) -> str:
    """A link to the member page (profile, balance, ledger, notifications: the overview's)."""
    return admin_link("overview.memberoverview", member_id, text)


def choreography_url(correlation_id: str) -> str:
    """The admin's picture of everything one request set off (``blipay.events.admin``)."""
    if not CORRELATION_ID.match(correlation_id):
        # No event should carry one, but a link must not break a page: the form says what's wrong.
        return reverse("admin:events_choreography_find") + f"?{urlencode({'correlation_id': correlation_id})}"
    return reverse("admin:events_choreography", args=[correlation_id])


def choreography_link(correlation_id: str) -> str:
    """The correlation id, as a link to its picture ("" for none)."""
    if not correlation_id:
        return ""
    return format_html('<a href="{}">{}</a>', choreography_url(correlation_id), correlation_id)


def choreography_links(subject: object, types: list[str], *, since: datetime | None) -> str:
    """Links to the choreography of each request that emitted an event of ``types`` (names,
    e.g. "payment.made") about ``subject`` since it was created, newest first."""
    requests = requests_about(subject, types, since=since)
    if not requests:
        return "no event about it is kept in the outbox"
    return format_html(
        "<ul>{}</ul>",
        format_html_join(
            "",
            '<li><a href="{}">{}</a>: the request emitted {}</li>',
            (
                (
                    choreography_url(r.correlation_id),
                    f"{timezone.localtime(r.at):%Y-%m-%d %H:%M:%S}",
                    ", ".join(r.emitted) or "(not kept)",
                )
                for r in requests
            ),
        ),
    )


def member_requests(member_id: object, *, since: datetime | None) -> str:
    """Links to the choreography of each request that touched the member (registered at
    ``since``): registration, profile changes and every balance change (top-ups, payments,
    refunds, cashback)."""
    types = ["member.registered", "member.saved", "wallet.balance_changed"]
    return choreography_links(member_id, types, since=since)
