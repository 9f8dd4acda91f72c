"""REST endpoints of the members module: thin (parse → service/selector → render)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.members.errors import MemberNotFound
from apps.members.public import member_profile
from apps.members.services import member_register, member_update
from apps.overview.public import member_activity
from blipay.api.auth import TheMemberOrStaff, allow
from blipay.api.errors import refuses
from blipay.api.fields import ClosedSerializer, InputSerializer
from blipay.api.idempotency import idempotent
from blipay.api.limits import RegistrationThrottle

# Digits, spaces and dashes, starting with a digit (or +) and ending with one. Sent as is:
# surrounding whitespace is refused rather than trimmed, so the schema's pattern is the rule.
PHONE = r"^\+?[0-9][0-9 \-]{4,17}[0-9]$"


class MemberRegisterApi(APIView):
    authentication_classes: list = []
    throttle_classes = [RegistrationThrottle]
    shown_once = ("token",)  # kept sealed for an Idempotency-Key replay (blipay.api.idempotency)

    class Input(InputSerializer):
        name = serializers.CharField(max_length=200)
        email = serializers.EmailField(max_length=254, trim_whitespace=False)
        phone = serializers.RegexField(PHONE, max_length=20, trim_whitespace=False)

    class Output(serializers.Serializer):
        id = serializers.UUIDField()
        name = serializers.CharField()
        email = serializers.EmailField()
        phone = serializers.CharField()
        created_at = serializers.DateTimeField()
        token = serializers.CharField(
            help_text=(
                "the member's bearer token; stored only as its hash; "
                "a replay of the request (same Idempotency-Key and body) answers the same body, this field included"
            ),
        )

    @extend_schema(request=Input, responses={201: Output}, summary="Register a member")
    @refuses("member_exists")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        registration = member_register(**data.validated_data)
        member = registration.member
        body = {
            "id": member.id,
            "name": member.name,
            "email": member.email,
            "phone": member.phone,
            "created_at": member.created_at,
            "token": registration.token,
        }
        return Response(self.Output(body).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    permission_classes = [allow("member", "staff"), TheMemberOrStaff]

    class Patch(ClosedSerializer):
        name = serializers.CharField(max_length=200, required=False)
        email = serializers.EmailField(max_length=254, required=False, trim_whitespace=False)
        phone = serializers.RegexField(PHONE, max_length=20, required=False, trim_whitespace=False)

    class Balance(serializers.Serializer):
        amount = serializers.IntegerField()
        currency = serializers.CharField()

    class Transaction(serializers.Serializer):
        id = serializers.UUIDField()
        kind = serializers.CharField()
        amount = serializers.IntegerField(help_text="+ credited to the member, - debited")
        description = serializers.CharField()
        created_at = serializers.DateTimeField()

    class Output(serializers.Serializer):
        id = serializers.UUIDField()
        name = serializers.CharField()
        email = serializers.EmailField()
        phone = serializers.CharField()
        created_at = serializers.DateTimeField()
        balance = serializers.SerializerMethodField()
        recent_transactions = serializers.SerializerMethodField()

        def get_balance(self, member: dict) -> dict:
            return MemberDetailApi.Balance({"amount": member["activity"].balance, "currency": "IDR"}).data

        def get_recent_transactions(self, member: dict) -> list:
            return MemberDetailApi.Transaction(member["activity"].recent_transactions, many=True).data

    @extend_schema(responses={200: Output}, summary="The member with balance and recent transactions")
    def get(self, request: Request, member_id: str) -> Response:
        return Response(self.Output(_shown(str(member_id))).data)

    @extend_schema(request=Patch, responses={200: Output}, summary="Change the member's name, email or phone")
    @refuses("member_exists")
    def patch(self, request: Request, member_id: str) -> Response:
        data = self.Patch(data=request.data)
        data.is_valid(raise_exception=True)
        member_update(member_id=str(member_id), **data.validated_data)
        return Response(self.Output(_shown(str(member_id))).data)


def _shown(member_id: str) -> dict:
    """The profile from this module (so it shows a change at once), the balance and latest
    transactions from the overview's read model: one call, which reads only its own tables."""
    profile = member_profile(member_id=member_id)
    if profile is None:
        raise MemberNotFound()
    return vars(profile) | {"activity": member_activity(member_id=member_id)}
