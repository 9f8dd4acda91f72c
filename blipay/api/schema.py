"""How the OpenAPI schema (drf-spectacular) describes our conventions."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

IDEMPOTENCY_KEY = (
    "Any string up to 255 characters (a random UUID is best). The same key with the same body "
    "replays the first response (status and body, with `Idempotent-Replayed: true`) without doing "
    "anything again; with a different body → 422 `idempotency_key_reused`; while the first request "
    "with it is still running → 409 `idempotency_key_in_use`. Kept 48 hours, per caller: an "
    "authenticated caller's keys are its own, an anonymous caller's belong to its client address. "
    "A registration's replay carries its `token` or `api_key` too; it is kept encrypted under the key, never readable."
)


class BlipaySchema(AutoSchema):
    def get_override_parameters(self) -> list:
        parameters = super().get_override_parameters()
        if getattr(getattr(self.view, self.method.lower(), None), "idempotent", False):
            header = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, description=IDEMPOTENCY_KEY)
            parameters = [*parameters, header]
        return parameters

    def get_serializer_name(self, serializer: object, direction: str) -> str:
        # Serializers nest in their API class (MemberRegisterApi.Input): name the component
        # after both, or every "Input" would collide.
        return type(serializer).__qualname__.replace(".", "")


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "blipay.identity.bearer.BearerAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A member's token, a merchant's API key, or a staff token.",
        }
