"""How the OpenAPI schema (drf-spectacular) describes our conventions.

Every operation's errors are derived here, in one place, from what the view is built of,
so a new endpoint is documented the day it is added: its authentication and permission
classes (401, 403, the failed-authentication 429), its throttles (429), its request body
(400, 413, 415), its path parameters (404), ``Idempotency-Key`` (409, 422), the refusals its
handler declares with ``refuses`` (their statuses from ``STATUS_OF``), and for every
operation 406 and 500. Each answer's body is the contract's error body, its ``code`` one
of the codes that status can carry there.
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from blipay.api.errors import STATUS_OF
from blipay.api.fields import ClosedSerializer
from blipay.api.idempotency import MAX_KEY_LENGTH
from blipay.api.limits import RegistrationThrottle, WriteThrottle
from blipay.identity.internal import HEADER as IDENTITY_HEADER
from blipay.identity.principal import MEMBER, MERCHANT, STAFF

IDEMPOTENCY_KEY = (
    f"Any string up to {MAX_KEY_LENGTH} characters (a random UUID is best). The same key with the same body "
    "replays the first response (status and body, with `Idempotent-Replayed: true`) without doing "
    "anything again; with a different body → 422 `idempotency_key_reused`; while the first request "
    "with it is still running → 409 `idempotency_key_in_use`. Kept 48 hours, per caller: an "
    "authenticated caller's keys are its own, an anonymous caller's belong to its client address. "
    "A registration's replay carries its `token` or `api_key` too, kept encrypted under the key, never readable."
)

# The security scheme each kind of caller authenticates with, and where its token comes from.
SCHEMES = {
    MEMBER: (
        "memberToken",
        "A member's token: returned once, as `token`, by `POST /api/v1/members` (member registration).",
    ),
    MERCHANT: (
        "merchantApiKey",
        "A merchant's API key: returned once, as `api_key`, by `POST /api/v1/merchants` (merchant registration).",
    ),
    STAFF: (
        "staffToken",
        "A staff token: printed once by `python manage.py staff_token <username>` for an active staff user.",
    ),
}

# Strings the server refuses whatever the field: PostgreSQL can't store NUL in text, so a
# NUL anywhere is a 400 naming the field. Other characters (RTL marks, zero-width joiners,
# 4-byte emoji) are kept exactly as sent.
NO_NUL = "^[^\\x00]*$"
# ... and a required text must have something besides whitespace (it is trimmed).
NOT_BLANK = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"

MESSAGES = {
    400: "The request is malformed or has invalid fields (`fields` names each one).",
    401: "No credentials, or credentials that are not valid.",
    403: "The caller is authenticated but this endpoint is not for its kind of caller.",
    404: "No such object, or not one the caller may see (the two are answered alike).",
    406: "The client does not accept JSON.",
    409: "Conflicts with the current state, or a request with this Idempotency-Key is still running.",
    413: "The request body is larger than the server accepts.",
    415: "The request body is not JSON.",
    422: "Well formed, but refused by a business rule.",
    429: "Too many requests; `Retry-After` says when to try again.",
    500: "Something went wrong on the server; nothing was changed.",
}


def error_schema(codes: list[str]) -> dict[str, Any]:
    """The contract's error body, for an answer carrying one of ``codes``."""
    return {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "enum": sorted(codes)},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "description": "validation errors only: each invalid field with its messages",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }
        },
    }


def _kinds(view: Any) -> set[str] | None:
    """The kinds of caller the view's permissions let through, or None when it takes no token."""
    if not view.get_authenticators():
        return None
    kinds = {STAFF, MEMBER, MERCHANT}
    for permission in view.get_permissions():
        kinds &= set(getattr(permission, "allowed_kinds", kinds))
    return kinds


class BlipaySchema(AutoSchema):
    def get_serializer_name(self, serializer: object, direction: str) -> str:
        # Serializers nest in their API class (MemberRegisterApi.Input): name the component
        # after both, or every "Input" would collide.
        return type(serializer).__qualname__.replace(".", "")

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any) -> Any:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None or not path.startswith("/api/v1/"):
            return operation
        handler = getattr(self.view, method.lower())
        if getattr(handler, "idempotent", False):
            operation.setdefault("parameters", []).append(
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": False,
                    "description": IDEMPOTENCY_KEY,
                    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                }
            )
        for status, codes in sorted(self._errors(operation, handler).items()):
            response: dict[str, Any] = {
                "description": MESSAGES.get(status, "Refused.") + " Codes: " + ", ".join(sorted(codes)) + ".",
                "content": {"application/json": {"schema": error_schema(sorted(codes))}},
            }
            if status == 429:
                response["headers"] = {
                    "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "seconds to wait"}
                }
            operation["responses"][str(status)] = response
        return operation

    def _errors(self, operation: dict, handler: Callable) -> dict[int, set[str]]:
        errors: dict[int, set[str]] = defaultdict(set)
        errors[406].add("not_acceptable")
        errors[500].add("internal_error")
        parameters = operation.get("parameters", [])
        if "requestBody" in operation:
            errors[400] |= {"validation_error", "malformed_request"}
            errors[413].add("payload_too_large")
            errors[415].add("unsupported_media_type")
        if any(p["in"] == "query" for p in parameters):
            errors[400].add("validation_error")
        if any(p["in"] == "path" for p in parameters):
            errors[404].add("not_found")
        if getattr(handler, "idempotent", False):
            errors[400].add("validation_error")  # a key too long
            errors[409].add("idempotency_key_in_use")
            errors[422].add("idempotency_key_reused")
        kinds = _kinds(self.view)
        if kinds is not None:
            errors[401].add("unauthenticated")
            errors[429].add("rate_limited")  # failed authentications, per credential and address
            if kinds != {STAFF, MEMBER, MERCHANT}:
                errors[403].add("forbidden")
        for throttle in self.view.get_throttles():
            writes = isinstance(throttle, WriteThrottle) and kinds is not None and self.method not in ("GET", "HEAD")
            if writes or isinstance(throttle, RegistrationThrottle):
                errors[429].add("rate_limited")
        for code in getattr(handler, "refusals", ()):
            errors[STATUS_OF[code]].add(code)
        return errors

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        plain_text = type(field) is serializers.CharField
        if direction == "request" and plain_text and "pattern" not in schema:
            schema["pattern"] = NO_NUL if field.allow_blank or not field.trim_whitespace else NOT_BLANK
        return schema

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict:
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, ClosedSerializer):
            schema["additionalProperties"] = False
        return schema


class BearerScheme(OpenApiAuthenticationExtension):
    """One bearer scheme per kind of caller, so each operation says whose token it takes."""

    target_class = "blipay.identity.bearer.BearerAuthentication"
    name = [scheme for scheme, _ in SCHEMES.values()]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict]:
        return [{"type": "http", "scheme": "bearer", "description": text} for _, text in SCHEMES.values()]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict]:
        kinds = _kinds(auto_schema.view) or set()
        return [{SCHEMES[kind][0]: []} for kind in (MEMBER, MERCHANT, STAFF) if kind in kinds]


def link_created_objects(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """A spectacular postprocessing hook: OpenAPI links from what an operation creates (its
    201 answer) to every operation whose path names that object, so a client, and the
    stateful fuzzer, can follow them. The answer's ``id`` names an object of the created
    collection (``POST /members`` → ``member_id``); any ``<thing>_id`` field names a thing."""
    schemas = result.get("components", {}).get("schemas", {})
    by_parameter: dict[str, list[str]] = defaultdict(list)
    for path, operations in result["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and "{" + parameter["name"] + "}" in path:
                    by_parameter[parameter["name"]].append(operation["operationId"])
    for path, operations in result["paths"].items():
        collection = path.rstrip("/").rsplit("/", 1)[-1]
        for operation in operations.values():
            created = operation.get("responses", {}).get("201", {})
            ref = created.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
            fields = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
            links = {}
            for field in fields:
                parameter = f"{collection.removesuffix('s')}_id" if field == "id" else field
                for target in by_parameter.get(parameter, []) if parameter.endswith("_id") else []:
                    links[f"{target}_{parameter}"] = {
                        "operationId": target,
                        "parameters": {parameter: f"$response.body#/{field}"},
                    }
            if links:
                created["links"] = links
    return result


class SignedIdentityScheme(OpenApiAuthenticationExtension):
    """An extracted service's one scheme: the caller's identity, signed by the monolith."""

    target_class = "blipay.identity.middleware.SignedIdentityAuthentication"
    name = "signedIdentity"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": IDENTITY_HEADER,
            "description": "Set by the monolith when it forwards a request; clients call the monolith instead.",
        }
