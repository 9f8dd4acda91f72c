"""Shared API conventions: request ids, errors, auth, idempotency keys, pagination."""
