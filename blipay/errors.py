"""The base of every refusal a module's command can raise: a stable ``code`` and a message,
nothing about HTTP. Each module declares its own in ``<module>/errors.py``; only the API
layer (``blipay/api/errors.py``) knows which status a code is answered with."""


class DomainError(Exception):
    """A command refused for a business reason. Subclasses set a stable ``code``."""

    code = "domain_error"
    message = "The request was refused."

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields


class NotFound(DomainError):
    """No such thing, or not one the caller may see: the two are refused alike."""

    code = "not_found"
    message = "Not found."
