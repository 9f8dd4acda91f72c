"""How the OpenAPI schema (drf-spectacular) describes our conventions."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class BlipaySchema(AutoSchema):
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
