from django.urls import path

from apps.merchants.api import MerchantDetailApi, MerchantRegisterApi

urlpatterns = [
    path("merchants", MerchantRegisterApi.as_view(), name="merchant-register"),
    path("merchants/<uuid:merchant_id>", MerchantDetailApi.as_view(), name="merchant-detail"),
]
