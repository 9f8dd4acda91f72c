from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_AMOUNT = 1_000_000_000


class WholeNumberField(serializers.Field):
    """A JSON integer between ``minimum`` and ``maximum``. Strings, floats and booleans are
    refused: a client that sends "10000" or 10000.0 has a bug we should tell it about."""

    type_message = "Must be a whole number (a JSON integer, not a string or a decimal)."

    def __init__(self, *, minimum: int, maximum: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.error_messages = {
            "type": self.type_message,
            "range": f"Must be between {minimum:,} and {maximum:,}.",
            **self.error_messages,
        }
        # Each instance documents its own range in the OpenAPI schema.
        extend_schema_field({"type": "integer", "minimum": minimum, "maximum": maximum})(self)

    def to_internal_value(self, data: object) -> int:
        if type(data) is not int:  # bool is an int subclass; this refuses it too
            self.fail("type")
        if not self.minimum <= data <= self.maximum:
            self.fail("range")
        return data

    def to_representation(self, value: int) -> int:
        return int(value)


class AmountField(WholeNumberField):
    """Integer rupiah, 1 to 1,000,000,000."""

    type_message = "Must be a whole number of rupiah (a JSON integer, not a string or a decimal)."

    def __init__(self, **kwargs: object) -> None:
        super().__init__(minimum=1, maximum=MAX_AMOUNT, **kwargs)
