"""Admin for the outbox (events sent or to send), the inbox (events each module applied)
and the deliveries that failed (kept retryable)."""

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.text import Truncator
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received

from blipay.admin import ReadOnly, choreography_link, choreography_url
from blipay.events import relay
from blipay.events.choreography import InvalidCorrelationId, choreography
from blipay.events.consumers import deliver
from blipay.events.diagram import draw, facts, summary
from blipay.events.envelope import Envelope
from blipay.events.inbox import inbox_id
from blipay.events.models import AppliedEvent, AppliedVersion
from blipay.events.registry import event_types
from blipay.events.subscriptions import consuming_modules

# django-outbox-pattern's own admin judges rows by expires_at, which our relay ignores.
admin.site.unregister(Published)
admin.site.unregister(Received)

# Its models read "Publisheds" and "Receiveds" in the admin: name them for people. Display
# names only: migrations read Options.original_attrs, which stay as the library wrote them.
apps.get_app_config("django_outbox_pattern").verbose_name = "Event backbone"
Published._meta.verbose_name, Published._meta.verbose_name_plural = "outbox event", "outbox events"
Received._meta.verbose_name, Received._meta.verbose_name_plural = "failed delivery", "failed deliveries"


@admin.register(Published)
class OutboxAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("added", "destination", "subject", "sequence", "status", "retry", "correlation_id")
    list_filter = ("status", "destination")
    search_fields = ("=id", "=body__correlation_id", "=body__subject")
    ordering = ("-added",)
    readonly_fields = ("id", "destination", "version", "body", "headers", "added", "expires_at", "retry", "status")
    actions = ("retry_failed",)
    show_full_result_count = False

    @admin.display(description="subject")
    def subject(self, row: Published) -> str:
        return row.body.get("subject", "")

    @admin.display(description="sequence")
    def sequence(self, row: Published) -> int | None:
        return row.body.get("sequence")

    @admin.display(description="correlation id")
    def correlation_id(self, row: Published) -> str:
        return choreography_link(row.body.get("correlation_id", ""))

    def get_urls(self) -> list[URLPattern]:
        # Before the model's own URLs: "<object id>/" would take "choreography/" otherwise.
        return [
            path("choreography/", self.admin_site.admin_view(self.choreography_view), name="events_choreography_find"),
            path(
                "choreography/<str:correlation_id>/",
                self.admin_site.admin_view(self.choreography_view),
                name="events_choreography",
            ),
            *super().get_urls(),
        ]

    def choreography_view(self, request: HttpRequest, correlation_id: str | None = None) -> HttpResponse:
        """The picture of one request: every event, who emitted and who applied each, when."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        asked = request.GET.get("correlation_id", "").strip()
        if correlation_id is None and asked and "/" not in asked:
            return HttpResponseRedirect(choreography_url(asked))  # the form's answer, at its own address
        correlation_id = correlation_id if correlation_id is not None else asked or None
        context = {
            **self.admin_site.each_context(request),
            "title": "Choreography of a request",
            "opts": self.model._meta,
            "correlation_id": correlation_id or "",
        }
        status = 200
        if correlation_id is not None:
            try:
                picture = choreography(correlation_id)
            except InvalidCorrelationId as exc:
                context["error"], status = str(exc), 400
            else:
                context.update(
                    picture=picture,
                    diagram=draw(picture),
                    facts=facts(picture),
                    summary=summary(picture),
                    title=f"Choreography of {picture.correlation_id}",
                )
                status = 200 if picture.steps else 404
        return TemplateResponse(request, "admin/events/choreography.html", context, status=status)

    @admin.action(description="Send the selected failed events again")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = relay.retry_failed(list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} failed event(s) queued for the relay again.")


class ConsumerFilter(admin.SimpleListFilter):
    title = "consumer"
    parameter_name = "consumer"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(module, module) for module in consuming_modules()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(msg_id__startswith=f"{self.value()}:") if self.value() else queryset


class EventTypeFilter(admin.SimpleListFilter):
    title = "event type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(t.routing_key, t.routing_key) for t in event_types()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(headers__destination=self.value()) if self.value() else queryset


class AppliedConsumerFilter(ConsumerFilter):
    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(consumer=self.value()) if self.value() else queryset


class AppliedEventTypeFilter(EventTypeFilter):
    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(routing_key=self.value()) if self.value() else queryset


@admin.register(AppliedEvent)
class InboxAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("applied_at", "consumer", "routing_key", "event_id", "attempts", "correlation")
    list_filter = (AppliedConsumerFilter, AppliedEventTypeFilter)
    search_fields = ("=correlation_id",)
    search_help_text = "An event id or a correlation id."
    ordering = ("-applied_at",)
    show_full_result_count = False

    @admin.display(description="event id")
    def event_id(self, row: AppliedEvent) -> str:
        return row.event_id

    @admin.display(description="correlation id")
    def correlation(self, row: AppliedEvent) -> str:
        return choreography_link(row.correlation_id)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # An event id is found through the primary key, one key per consuming module.
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            found |= queryset.filter(key__in=[inbox_id(module, term) for module in consuming_modules()])
        return found, duplicates


@admin.register(Received)
class FailedDeliveryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("added", "consumer", "destination", "status", "retry", "correlation_id", "error")
    list_filter = (ConsumerFilter, EventTypeFilter)
    search_fields = ("=msg_id", "=headers__correlation_id", "=headers__event_id")
    ordering = ("-added",)
    readonly_fields = ("id", "msg_id", "headers", "body", "added", "expires_at", "retry", "status")
    actions = ("retry_failed",)
    show_full_result_count = False

    @admin.display(description="consumer")
    def consumer(self, row: Received) -> str:
        return (row.headers or {}).get("consumer", "")

    @admin.display(description="correlation id")
    def correlation_id(self, row: Received) -> str:
        return choreography_link((row.headers or {}).get("correlation_id", ""))

    @admin.display(description="error")
    def error(self, row: Received) -> str:
        # A handler's error can be a long repr: the list shows its start, the title all of it.
        error = (row.headers or {}).get("error", "")
        return format_html('<span title="{}">{}</span>', error, Truncator(error).chars(60)) if error else ""

    @admin.action(description="Run the handlers of the selected failed deliveries again")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset.filter(status=StatusChoice.FAILED):
            try:
                outcome = deliver(row.headers["consumer"], Envelope.from_dict(row.body))
            except Exception as exc:  # noqa: BLE001 - shown to the operator, the row stays failed
                self.message_user(request, f"{row.msg_id} failed again: {exc!r}", messages.ERROR)
            else:
                self.message_user(request, f"{row.msg_id}: {outcome.value}")


@admin.register(AppliedVersion)
class AppliedVersionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("consumer", "aggregate", "subject", "sequence")
    list_filter = ("consumer", "aggregate")
    search_fields = ("=subject",)
