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


class InputSerializer(serializers.Serializer):
    """A request body. Text and ids must come as JSON strings: DRF would turn 0 into "0" (a
    name, a phone number) or into the nil UUID, and a client sending a number where text
    belongs has a bug we should tell it about."""

    default_error_messages = {"not_text": "Must be a string."}

    def to_internal_value(self, data: object) -> dict:
        if isinstance(data, dict):
            wrong = {
                name: [self.error_messages["not_text"]]
                for name, field in self.fields.items()
                if isinstance(field, serializers.CharField | serializers.UUIDField)
                and name in data
                and not isinstance(data[name], str)
                and not (data[name] is None and field.allow_null)
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


class ClosedSerializer(InputSerializer):
    """Refuses fields it doesn't declare (400 naming each), where silently ignoring one would
    hide a client's mistake (e.g. a PATCH of a field that can't be changed). The schema says
    so (``additionalProperties: false``)."""

    def validate(self, attrs: dict) -> dict:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["This field can't be changed."] for name in sorted(unknown)})
        return attrs
