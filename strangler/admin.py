"""The strangler in the admin: routes editable (each save audited and published to every
process), their change history, the comparisons that disagreed, and breaker states."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from blipay.admin import ReadOnly
from strangler.models import BreakerState, Comparison, Route, RouteChange
from strangler.routes import route_saved, snapshot


class RouteForm(forms.ModelForm):
    class Meta:
        model = Route
        exclude = ("seed", "step_started_at", "auto_steps")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("mode") != Route.MONOLITH and data.get("service") not in settings.BLIPAY_SERVICES:
            raise forms.ValidationError(f"{data.get('service')!r} is not in BLIPAY_SERVICES; only monolith mode works.")
        if not (data.get("path") or data.get("url_name")):
            raise forms.ValidationError("A route needs a path pattern or a URL name.")
        return data


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    form = RouteForm
    list_display = ("name", "methods", "path", "mode", "percent", "serve", "service", "auto", "updated_at")
    list_filter = ("mode", "service")

    def save_model(self, request: HttpRequest, obj: Route, form: forms.ModelForm, change: bool) -> None:
        with transaction.atomic():
            before = snapshot(Route.objects.filter(pk=obj.pk).first()) if change else None
            super().save_model(request, obj, form, change)
            route_saved(obj, before=before, actor=request.user.get_username(), via="admin")

    def delete_model(self, request: HttpRequest, obj: Route) -> None:
        with transaction.atomic():
            before = snapshot(obj)
            super().delete_model(request, obj)
            route_saved(obj, before=before, actor=request.user.get_username(), via="admin", deleted=True)


@admin.register(RouteChange)
class RouteChangeAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("at", "route", "actor", "via", "change", "reason")
    list_filter = ("route", "via")

    @admin.display(description="from → to")
    def change(self, obj: RouteChange) -> str:
        def text(state: dict | None) -> str:
            return "-" if state is None else f"{state['mode']} {state['percent']}%"

        return f"{text(obj.before)} → {text(obj.after)}"


@admin.register(Comparison)
class ComparisonAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("at", "route", "verdict", "method", "path", "fields", "served_by", "request_id")
    list_filter = ("route", "verdict")
    search_fields = ("path", "=request_id")


@admin.register(BreakerState)
class BreakerStateAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("route", "upstream", "state", "changed_at", "reason")
