from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

MODULES_WITH_ENDPOINTS = ["members", "merchants", "wallet", "payments", "notifications", "promotions"]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    *(path("api/v1/", include(f"apps.{module}.urls")) for module in MODULES_WITH_ENDPOINTS),
]

handler404 = "blipay.api.errors.json_404"
handler500 = "blipay.api.errors.json_500"
