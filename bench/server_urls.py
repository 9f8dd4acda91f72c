"""Blipay's URLs plus the bench's bare endpoint: the framework's ceiling for figure 5.

``POST /bench/bare-insert`` goes through the same stack as ``POST /api/v1/payments`` (the
same gunicorn, middleware, DRF request parsing, bearer authentication with a member's
token, permission and throttle checks, JSON renderer) and then does one INSERT, in
autocommit, into a table of the bench's own (created by ``bench.figures.api_payments``,
not by a migration). No serializer, no ledger, no events, no Idempotency-Key.
"""

import uuid

from django.db import connection
from django.urls import path
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blipay.api.auth import allow
from blipay.urls import handler404, handler500
from blipay.urls import urlpatterns as blipay_urlpatterns

TABLE = "bench_bare_payment"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id uuid PRIMARY KEY, member_id varchar(64) NOT NULL,"
    " merchant_id varchar(64) NOT NULL, amount bigint NOT NULL, description varchar(200) NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now())"
)


class BareInsertApi(APIView):
    permission_classes = [allow("member")]

    def post(self, request: Request) -> Response:
        body = request.data
        row = {
            "id": str(uuid.uuid4()),
            "member_id": request.user.id,
            "merchant_id": str(body.get("merchant_id", "")),
            "amount": int(body.get("amount", 0)),
            "description": str(body.get("description", "")),
        }
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (id, member_id, merchant_id, amount, description)"
                " VALUES (%(id)s, %(member_id)s, %(merchant_id)s, %(amount)s, %(description)s)",
                row,
            )
        return Response(row, status=status.HTTP_201_CREATED)


urlpatterns = [*blipay_urlpatterns, path("bench/bare-insert", BareInsertApi.as_view())]

__all__ = ["handler404", "handler500", "urlpatterns"]
