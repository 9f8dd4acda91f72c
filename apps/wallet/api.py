from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.wallet.selectors import member_transactions
from blipay.api.auth import TheMemberOrStaff, allow
from blipay.api.pagination import NewestFirst, listed


class MemberTransactionsApi(APIView):
    permission_classes = [allow("member", "staff"), TheMemberOrStaff]

    class Output(serializers.Serializer):
        id = serializers.UUIDField()
        kind = serializers.CharField()
        amount = serializers.IntegerField(help_text="+ credited to the member, - debited")
        balance_after = serializers.IntegerField()
        reference = serializers.CharField(help_text="the top-up, payment, refund or cashback it settles")
        description = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(**listed(Output), summary="The member's ledger history, newest first")
    def get(self, request: Request, member_id: str) -> Response:
        paginator = NewestFirst()
        page = paginator.paginate_queryset(member_transactions(member_id=str(member_id)), request, view=self)
        return paginator.get_paginated_response(self.Output(page, many=True).data)
