from base64 import b64decode
from typing import Any
from urllib import parse

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response


class NewestFirst(CursorPagination):
    """The contract's list shape: ``{"results": [...], "next": "<url>" | null}``.

    A cursor or limit the server can't use is the client's mistake, so it is a 400 naming
    the parameter (DRF answers a bad cursor 404 and ignores a bad limit)."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    # What the OpenAPI schema says about the query (see ``listed``).
    PARAMETERS = (
        OpenApiParameter(
            "cursor",
            str,
            OpenApiParameter.QUERY,
            description="opaque: copy it from the `next` link of the previous page",
        ),
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_page_size},
            OpenApiParameter.QUERY,
            description=f"items per page, 1 to {max_page_size} (default {page_size})",
        ),
    )

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            # DRF's decoding skips whatever isn't base64, so "%%%" would read as the first page.
            tokens = parse.parse_qs(b64decode(encoded, validate=True).decode("ascii"), keep_blank_values=True)
            cursor = super().decode_cursor(request)
        except (ValueError, NotFound):
            cursor = None
        else:
            position_ok = cursor.position is None or parse_datetime(cursor.position) is not None
            if tokens and set(tokens) <= {"o", "r", "p"} and position_ok:
                return cursor
        raise ValidationError({self.cursor_query_param: ["Not a cursor this API gave; copy it from `next`."]})

    def get_page_size(self, request: Request) -> int:
        offered = request.query_params.get(self.page_size_query_param)
        if offered is None:
            return self.page_size
        if not (offered.isascii() and offered.isdigit() and 1 <= int(offered) <= self.max_page_size):
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return int(offered)

    def get_paginated_response(self, data: list) -> Response:
        return Response({"results": data, "next": self.get_next_link()})


def listed(item: type[serializers.Serializer]) -> dict[str, Any]:
    """``extend_schema`` arguments for an APIView answering a page of ``item`` with NewestFirst."""
    page = inline_serializer(
        name=f"{item.__qualname__.replace('.', '')}Page",
        fields={"results": item(many=True), "next": serializers.URLField(allow_null=True)},
    )
    return {"parameters": list(NewestFirst.PARAMETERS), "responses": {200: page}}
