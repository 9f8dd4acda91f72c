"""Wallet state for tests, made through the wallet's public functions: no HTTP, no bank,
no broker. The events they emit stay in the outbox until a test relays them."""

import uuid

from django.db import transaction

from apps.wallet.public import balance_of, topup_credit


def funded_member(amount: int = 100_000) -> str:
    """A new member id whose wallet holds ``amount``, credited as a settled top-up would be.
    The wallet opens accounts on first use, so no member row is needed."""
    member_id = str(uuid.uuid4())
    if amount:
        credit(member_id, amount)
    return member_id


def credit(member_id: str, amount: int) -> int:
    """Credit ``amount`` to the member's balance as a top-up; the balance after it."""
    with transaction.atomic():
        topup_credit(member_id=member_id, amount=amount, topup_id=str(uuid.uuid4()))
    return balance_of(member_id=member_id)
