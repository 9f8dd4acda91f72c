from django.urls import path

from apps.payments.api import (
    BankNotificationApi,
    PaymentCreateApi,
    PaymentDetailApi,
    RefundCreateApi,
    TopUpCreateApi,
    TopUpDetailApi,
)

urlpatterns = [
    path("topups", TopUpCreateApi.as_view(), name="topup-create"),
    path("topups/<uuid:topup_id>", TopUpDetailApi.as_view(), name="topup-detail"),
    path("bank/notifications", BankNotificationApi.as_view(), name="bank-notification"),
    path("payments", PaymentCreateApi.as_view(), name="payment-create"),
    path("payments/<uuid:payment_id>", PaymentDetailApi.as_view(), name="payment-detail"),
    path("payments/<uuid:payment_id>/refunds", RefundCreateApi.as_view(), name="refund-create"),
]
