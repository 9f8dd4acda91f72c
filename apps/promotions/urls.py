from django.urls import path

from apps.promotions.api import PromotionCreateApi

urlpatterns = [
    path("promotions", PromotionCreateApi.as_view(), name="promotion-create"),
]
