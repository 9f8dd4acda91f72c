"""REST endpoints of the payments module: top-ups, the bank's confirmations, payments, refunds."""

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.payments.models import BankNotification
from apps.payments.selectors import payment_visible, topup_visible
from apps.payments.services import BankConfirmation, bank_payment_confirm, payment_create, refund_issue, topup_create
from apps.payments.signatures import bank_signature_verify
from blipay.api.auth import allow
from blipay.api.errors import error_response, refuses
from blipay.api.fields import AmountField, InputSerializer
from blipay.api.idempotency import idempotent


class TopUpOutput(serializers.Serializer):
    id = serializers.UUIDField()
    member_id = serializers.UUIDField()
    amount = serializers.IntegerField()
    status = serializers.CharField()
    reference = serializers.CharField(help_text="quote this in the bank transfer")
    expires_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class PaymentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    member_id = serializers.UUIDField()
    merchant_id = serializers.UUIDField()
    amount = serializers.IntegerField()
    refunded_amount = serializers.IntegerField()
    description = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


# One instance for every response of the payment path: a serializer deep-copies its fields
# when first used, which cost more than rendering the payment. to_representation keeps no
# state, so sharing it is safe.
_PAYMENT_OUTPUT = PaymentOutput()


class TopUpCreateApi(APIView):
    permission_classes = [allow("member")]

    class Input(InputSerializer):
        amount = AmountField()

    @extend_schema(request=Input, responses={201: TopUpOutput}, summary="Ask to top up by bank transfer")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        topup = topup_create(member_id=request.user.id, amount=data.validated_data["amount"])
        return Response(TopUpOutput(topup).data, status=status.HTTP_201_CREATED)


class TopUpDetailApi(APIView):
    permission_classes = [allow("member", "staff")]

    @extend_schema(responses={200: TopUpOutput}, summary="A top-up: pending, paid or expired")
    def get(self, request: Request, topup_id: str) -> Response:
        return Response(TopUpOutput(topup_visible(topup_id=str(topup_id), principal=request.user)).data)


class BankNotificationApi(APIView):
    """The bank's payment confirmation, authenticated by its HMAC signature, not a token."""

    authentication_classes: list = []

    class Input(InputSerializer):
        reference = serializers.CharField(max_length=64)
        amount = AmountField()
        status = serializers.ChoiceField(choices=["paid"])
        bank_transaction_id = serializers.CharField(max_length=64)
        paid_at = serializers.DateTimeField()

    class Output(serializers.Serializer):
        outcome = serializers.ChoiceField(
            choices=[outcome for outcome, _ in BankNotification.OUTCOMES],
            help_text="credited; for a bank_transaction_id sent before, the first delivery's outcome",
        )
        topup_id = serializers.UUIDField(allow_null=True)
        reference = serializers.CharField()
        message = serializers.CharField(required=False, help_text="why the first delivery was refused")

    @extend_schema(
        request=Input,
        parameters=[OpenApiParameter("X-Bank-Signature", str, OpenApiParameter.HEADER, required=True)],
        responses={200: Output},
        summary="Payment confirmation from the bank (signed)",
    )
    @refuses("invalid_signature", "unknown_reference", "amount_mismatch", "topup_already_paid")
    @idempotent
    def post(self, request: Request) -> Response:
        bank_signature_verify(raw_body=request.body, header=request.headers.get("X-Bank-Signature"))
        try:
            payload = json.loads(request.body)
        except (ValueError, RecursionError) as exc:  # not JSON, or nested past the decoder's depth
            raise ParseError("The body is not JSON.") from exc
        data = self.Input(data=payload)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        confirmation = bank_payment_confirm(
            reference=values["reference"],
            amount=values["amount"],
            bank_transaction_id=values["bank_transaction_id"],
            paid_at=values["paid_at"],
            payload=payload,
        )
        return bank_answer(confirmation)


def bank_answer(confirmation: BankConfirmation) -> Response:
    """What the bank is told about a confirmation (the admin shows the first answer). A
    repeat (banks retry until they get a 2xx) is acknowledged with 200 and the first
    outcome, refused or not, so a refusal is said once and the retries stop."""
    if confirmation.credited or confirmation.repeat:
        body = {"outcome": confirmation.outcome, "topup_id": confirmation.topup_id, "reference": confirmation.reference}
        return Response(body | ({"message": confirmation.message} if confirmation.message else {}))
    return error_response(confirmation.outcome, confirmation.message)


class PaymentCreateApi(APIView):
    permission_classes = [allow("member")]

    class Input(InputSerializer):
        merchant_id = serializers.UUIDField()
        amount = AmountField()
        description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(request=Input, responses={201: PaymentOutput}, summary="Pay a merchant from the balance")
    @refuses("merchant_not_found", "insufficient_balance")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        payment = payment_create(
            member_id=request.user.id,
            merchant_id=str(values["merchant_id"]),
            amount=values["amount"],
            description=values["description"],
        )
        return Response(_PAYMENT_OUTPUT.to_representation(payment), status=status.HTTP_201_CREATED)


class PaymentDetailApi(APIView):
    permission_classes = [allow("member", "merchant", "staff")]

    @extend_schema(responses={200: PaymentOutput}, summary="A payment")
    def get(self, request: Request, payment_id: str) -> Response:
        return Response(PaymentOutput(payment_visible(payment_id=str(payment_id), principal=request.user)).data)


class RefundCreateApi(APIView):
    permission_classes = [allow("merchant", "staff")]

    class Input(InputSerializer):
        amount = AmountField()
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Output(serializers.Serializer):
        id = serializers.UUIDField()
        payment_id = serializers.UUIDField()
        amount = serializers.IntegerField()
        reason = serializers.CharField()
        status = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(request=Input, responses={201: Output}, summary="Refund (part of) a payment to the balance")
    @refuses("refund_exceeds_payment")
    @idempotent
    def post(self, request: Request, payment_id: str) -> Response:
        payment = payment_visible(payment_id=str(payment_id), principal=request.user)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        refund = refund_issue(payment_id=str(payment.id), **data.validated_data)
        return Response(self.Output(refund).data, status=status.HTTP_201_CREATED)
