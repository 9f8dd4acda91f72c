from django.urls import path

from apps.members.api import MemberDetailApi, MemberRegisterApi

urlpatterns = [
    path("members", MemberRegisterApi.as_view(), name="member-register"),
    path("members/<uuid:member_id>", MemberDetailApi.as_view(), name="member-detail"),
]
