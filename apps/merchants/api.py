"""REST endpoints of the merchants module."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.merchants.errors import MerchantNotFound
from apps.merchants.selectors import merchant_get
from apps.merchants.services import merchant_register
from blipay.api.auth import allow
from blipay.api.errors import refuses
from blipay.api.fields import InputSerializer
from blipay.api.idempotency import idempotent
from blipay.api.limits import RegistrationThrottle


class MerchantOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()
    created_at = serializers.DateTimeField()


class MerchantRegisterApi(APIView):
    authentication_classes: list = []
    throttle_classes = [RegistrationThrottle]
    shown_once = ("api_key",)  # kept sealed for an Idempotency-Key replay (blipay.api.idempotency)

    class Input(InputSerializer):
        name = serializers.CharField(max_length=200)
        email = serializers.EmailField(max_length=254, trim_whitespace=False)

    class Output(MerchantOutput):
        api_key = serializers.CharField(
            help_text=(
                "the merchant's API key; stored only as its hash; "
                "a replay of the request (same Idempotency-Key and body) answers the same body, this field included"
            ),
        )

    @extend_schema(request=Input, responses={201: Output}, summary="Register a merchant")
    @refuses("merchant_exists")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        registration = merchant_register(**data.validated_data)
        merchant = registration.merchant
        body = {
            "id": merchant.id,
            "name": merchant.name,
            "email": merchant.email,
            "created_at": merchant.created_at,
            "api_key": registration.api_key,
        }
        return Response(self.Output(body).data, status=status.HTTP_201_CREATED)


class MerchantDetailApi(APIView):
    permission_classes = [allow("merchant", "staff")]

    @extend_schema(responses={200: MerchantOutput}, summary="The merchant")
    def get(self, request: Request, merchant_id: str) -> Response:
        if not (request.user.is_staff or request.user.is_merchant(merchant_id)):
            raise MerchantNotFound()
        return Response(MerchantOutput(merchant_get(merchant_id=str(merchant_id))).data)
