from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_AMOUNT = 1_000_000_000


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT})
class AmountField(serializers.Field):
    """Integer rupiah, 1 to 1,000,000,000. Strings, floats, booleans, zero and negatives are refused."""

    default_error_messages = {
        "type": "Must be a whole number of rupiah (a JSON integer, not a string or a decimal).",
        "range": f"Must be between 1 and {MAX_AMOUNT:,}.",
    }

    def to_internal_value(self, data: object) -> int:
        if type(data) is not int:  # bool is an int subclass; this refuses it too
            self.fail("type")
        if not 1 <= data <= MAX_AMOUNT:
            self.fail("range")
        return data

    def to_representation(self, value: int) -> int:
        return int(value)
