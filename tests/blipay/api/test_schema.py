"""What the OpenAPI schema promises, besides being valid (test_conventions) and matching
the server's answers (schemathesis, tests/apps/test_schemathesis.py)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_every_error_an_operation_documents_has_the_contracts_error_body(schema):
    for name, operation in _operations(schema):
        errors = {status: r for status, r in operation["responses"].items() if int(status) >= 400}
        assert {"406", "500"} <= set(errors), name
        for status, response in errors.items():
            body = response["content"]["application/json"]["schema"]
            assert body["required"] == ["error"], (name, status)
            assert set(body["properties"]["error"]["properties"]) == {"code", "message", "fields"}
            assert body["properties"]["error"]["properties"]["code"]["enum"], (name, status)


def test_each_operation_documents_the_errors_its_view_can_answer(schema):
    paths = schema["paths"]

    assert set(paths["/api/v1/payments"]["post"]["responses"]) == {
        *("201", "400", "401", "403", "406", "409", "413", "415", "422", "429", "500")
    }
    codes_422 = paths["/api/v1/payments"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert codes_422["properties"]["error"]["properties"]["code"]["enum"] == [
        "idempotency_key_reused",
        "insufficient_balance",
        "merchant_not_found",
    ]
    assert "401" not in paths["/api/v1/members"]["post"]["responses"]  # registration takes no token
    assert "403" not in paths["/api/v1/payments/{payment_id}"]["get"]["responses"]  # every kind may ask
    assert "404" in paths["/api/v1/payments/{payment_id}"]["get"]["responses"]


def test_every_post_documents_idempotency_key_and_says_whose_token_it_takes(schema):
    schemes = schema["components"]["securitySchemes"]

    assert set(schemes) == {"memberToken", "merchantApiKey", "staffToken"}
    assert all(s["type"] == "http" and s["scheme"] == "bearer" and s["description"] for s in schemes.values())
    for name, operation in _operations(schema):
        if name.startswith("POST"):
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert "Idempotency-Key" in headers, name
    security = schema["paths"]["/api/v1/payments/{payment_id}/refunds"]["post"]["security"]
    assert security == [{"merchantApiKey": []}, {"staffToken": []}]


def test_the_constraints_the_server_enforces_are_in_the_schema(schema):
    components = schema["components"]["schemas"]
    member = components["MemberRegisterApiInputRequest"]["properties"]
    amount = components["PaymentCreateApiInputRequest"]["properties"]["amount"]

    assert member["name"]["minLength"] == 1
    assert "\\x00" in member["name"]["pattern"]  # NUL is refused
    assert member["phone"]["pattern"].startswith("^")
    assert (amount["type"], amount["minimum"], amount["maximum"]) == ("integer", 1, 1_000_000_000)
    assert components["PatchedMemberDetailApiPatchRequest"]["additionalProperties"] is False
