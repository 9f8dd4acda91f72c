"""REST endpoints of the notifications module."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.notifications.selectors import member_notifications
from blipay.api.auth import TheMemberOrStaff, allow
from blipay.api.pagination import NewestFirst, listed


class MemberNotificationsApi(APIView):
    permission_classes = [allow("member", "staff"), TheMemberOrStaff]

    class Output(serializers.Serializer):
        id = serializers.UUIDField()
        kind = serializers.CharField(help_text="welcome, topup, payment, refund, cashback or balance")
        channel = serializers.CharField()
        recipient = serializers.CharField(help_text="the address it was sent to; empty when none was known")
        subject = serializers.CharField()
        body = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(**listed(Output), summary="The notifications sent to the member, newest first")
    def get(self, request: Request, member_id: str) -> Response:
        # Someone else's member answers 404, exactly like a member that doesn't exist.
        paginator = NewestFirst()
        page = paginator.paginate_queryset(member_notifications(member_id=str(member_id)), request, view=self)
        return paginator.get_paginated_response(self.Output(page, many=True).data)
