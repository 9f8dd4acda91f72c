"""What the members module refuses, by stable code."""

from blipay.errors import DomainError, NotFound


class MemberExists(DomainError):
    code = "member_exists"
    message = "A member with this email is already registered."


class MemberNotFound(NotFound):
    message = "No such member."
