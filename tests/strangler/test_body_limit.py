"""A body over the upload limit on a route the strangler forwards is refused at the front
door, 413 in the contract's error body, and never reaches the service."""

import io

import pytest

from tests.strangler.conftest import set_route

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 10_000


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT


@pytest.mark.parametrize("mode", ["service", "canary", "shadow"])
def test_a_declared_body_over_the_limit_is_413_and_the_service_gets_nothing(
    client, echo, echo_route, small_limit, mode
):
    set_route("echo", mode, percent=100, serve="service")

    response = client.generic("POST", "/api/v1/echo/body", data=b"x" * (LIMIT + 1), content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert echo.received == []


def test_a_chunked_body_found_over_the_limit_while_read_is_413_and_the_service_gets_nothing(
    client, echo, echo_route, small_limit
):
    set_route("echo", "service")
    body = b"x" * (LIMIT + 1)

    response = client.generic(
        "POST",
        "/api/v1/echo/body",
        data=body,
        content_type="application/json",
        # As a WSGI server hands over a chunked upload: no length, the stream de-chunked.
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert echo.received == []
