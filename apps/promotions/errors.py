"""What the promotions module refuses, by stable code."""

from blipay.errors import DomainError


class InvalidPromotion(DomainError):
    code = "validation_error"
    message = "The request has invalid fields."
