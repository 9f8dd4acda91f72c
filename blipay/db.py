"""Database helpers every module's services share."""

from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def create_once(model: type[M], *, key: dict[str, Any], **values: Any) -> M | None:
    """Create the ``model`` row identified by ``key`` (a unique constraint's fields), unless
    it exists; None if it did, even when a concurrent transaction created it first.

    For work done once per event or per payment: the unique constraint is what guarantees
    it. Django's ``get_or_create`` creates in a savepoint and, on an IntegrityError, reads
    the winner's row, so the caller's transaction goes on.
    """
    row, created = model.objects.get_or_create(**key, defaults=values)
    return row if created else None
