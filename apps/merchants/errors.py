"""What the merchants module refuses, by stable code."""

from blipay.errors import DomainError, NotFound


class MerchantExists(DomainError):
    code = "merchant_exists"
    message = "A merchant with this email is already registered."


class MerchantNotFound(NotFound):
    message = "No such merchant."
