"""What the promotions module refuses, by stable code."""

from blipay.errors import DomainError


class MerchantUnknown(DomainError):
    code = "merchant_not_found"
    message = "No merchant has this id."


class InvalidPromotion(DomainError):
    code = "validation_error"
    message = "The request has invalid fields."
