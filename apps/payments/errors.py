"""What the payments module refuses, by stable code."""

from blipay.errors import DomainError, NotFound


class InvalidSignature(DomainError):
    """The bank's confirmation can't be shown to come from the bank."""

    code = "invalid_signature"
    message = "X-Bank-Signature is missing, malformed, too old, or does not match the body."


class PaymentNotFound(NotFound):
    message = "No such payment."


class TopUpNotFound(NotFound):
    message = "No such top-up."


class RefundExceedsPayment(DomainError):
    code = "refund_exceeds_payment"
    message = "Refunds can't add up to more than the payment's amount."
