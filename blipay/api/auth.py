"""Who may call an endpoint: permission classes over the caller's ``Principal``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from blipay.errors import NotFound
from blipay.identity.principal import Principal

if TYPE_CHECKING:  # DRF's settings import this module while rest_framework.views loads
    from rest_framework.views import APIView


def allow(*kinds: str) -> type[BasePermission]:
    """A permission class letting through authenticated callers of these kinds."""

    class Allowed(BasePermission):
        message = f"This endpoint is for: {', '.join(kinds)}."
        allowed_kinds = kinds  # read by the OpenAPI schema (blipay.api.schema)

        def has_permission(self, request: Request, view: APIView) -> bool:
            user = request.user
            if not isinstance(user, Principal):
                raise exceptions.NotAuthenticated("Send Authorization: Bearer <token>.")
            return user.kind in kinds

    return Allowed


class TheMemberOrStaff(BasePermission):
    """For paths under ``members/<member_id>``: the member themselves, or staff. Anyone
    else's member answers 404, exactly like a member that doesn't exist. Put it after
    ``allow(...)``, which answers the unauthenticated."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user.is_member_or_staff(view.kwargs["member_id"]):
            raise NotFound("No such member.")
        return True
