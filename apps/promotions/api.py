"""REST endpoints of the promotions module."""

from datetime import datetime

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.promotions.services import promotion_create
from blipay.api.auth import allow
from blipay.api.errors import refuses
from blipay.api.fields import AmountField, InputSerializer, WholeNumberField
from blipay.api.idempotency import idempotent


class MomentField(serializers.DateTimeField):
    """An ISO 8601 instant with its UTC offset: a promotion's window must not depend on
    whose clock reads it."""

    default_error_messages = {"naive": "Give the UTC offset too, e.g. 2026-12-01T00:00:00+07:00."}

    def enforce_timezone(self, value: datetime) -> datetime:
        if value.tzinfo is None:
            self.fail("naive")
        return super().enforce_timezone(value)


class PromotionCreateApi(APIView):
    permission_classes = [allow("staff")]

    class Input(InputSerializer):
        merchant_id = serializers.UUIDField()
        percent = WholeNumberField(minimum=1, maximum=100, help_text="cashback, in percent of the payment's amount")
        max_amount = AmountField(help_text="the most cashback one payment earns, in rupiah")
        starts_at = MomentField()
        ends_at = MomentField(help_text="exclusive: a payment at this instant earns nothing")

        def validate(self, attrs: dict) -> dict:
            if attrs["ends_at"] <= attrs["starts_at"]:
                raise serializers.ValidationError({"ends_at": ["Must be after starts_at."]})
            return attrs

    class Output(serializers.Serializer):
        id = serializers.UUIDField()
        merchant_id = serializers.UUIDField()
        percent = serializers.IntegerField()
        max_amount = serializers.IntegerField()
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        created_at = serializers.DateTimeField()

    @extend_schema(request=Input, responses={201: Output}, summary="Start a cashback promotion at a merchant")
    @refuses("merchant_not_found")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        promotion = promotion_create(**values | {"merchant_id": str(values["merchant_id"])})
        return Response(self.Output(promotion).data, status=status.HTTP_201_CREATED)
