from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from blipay.api.schema_view import SchemaView
from blipay.events.views import inbox_has, module_digest, request_trace
from blipay.observability.views import metrics

MODULES_WITH_ENDPOINTS = ["members", "merchants", "wallet", "payments", "notifications", "promotions"]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # A deployment serves the endpoints of the modules it runs (every one, in the monolith).
    *(
        path("api/v1/", include(f"apps.{module}.urls"))
        for module in MODULES_WITH_ENDPOINTS
        if module in settings.BLIPAY_MODULES
    ),
    path("internal/inbox/<str:module>/<str:event_id>", inbox_has, name="internal-inbox"),
    path("internal/trace/<str:correlation_id>", request_trace, name="internal-trace"),
    path("internal/digest/<str:module>", module_digest, name="internal-digest"),
    path("metrics", metrics, name="metrics"),  # blipay.observability.metrics.METRICS_PATH
]
if "strangler" in settings.INSTALLED_APPS:
    urlpatterns.append(path("internal/strangler/", include("strangler.urls")))

handler400 = "blipay.api.errors.json_400"
handler404 = "blipay.api.errors.json_404"
handler500 = "blipay.api.errors.json_500"
