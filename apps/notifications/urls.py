from django.urls import path

from apps.notifications.api import MemberNotificationsApi

urlpatterns = [
    path("members/<uuid:member_id>/notifications", MemberNotificationsApi.as_view(), name="member-notifications"),
]
