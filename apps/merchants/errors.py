"""What the merchants module refuses, by stable code."""

from blipay.errors import DomainError, NotFound


class MerchantExists(DomainError):
    code = "merchant_exists"
    message = "A merchant with this email is already registered."


class MerchantNotFound(NotFound):
    message = "No such merchant."


class MerchantUnknown(DomainError):
    """Raised by a module that keeps a replica of merchants (payments, promotions) for an id
    it hasn't heard of: unknown, or registered a moment ago and still on its way."""

    code = "merchant_not_found"
    message = "No merchant has this id."

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, fields=fields or {"merchant_id": [message or self.message]})
