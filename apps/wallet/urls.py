from django.urls import path

from apps.wallet.api import MemberTransactionsApi

urlpatterns = [
    path("members/<uuid:member_id>/transactions", MemberTransactionsApi.as_view(), name="member-transactions"),
]
