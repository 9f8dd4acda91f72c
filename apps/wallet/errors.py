"""What the wallet refuses, by stable code."""

from blipay.errors import DomainError


class InsufficientBalance(DomainError):
    code = "insufficient_balance"
    message = "The balance does not cover this amount; nothing was charged."
