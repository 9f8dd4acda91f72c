"""What the wallet (the ledger and balances) publishes: each event a frozen dataclass beside
its JSON Schema."""

from dataclasses import dataclass
from datetime import datetime

from blipay.events.registry import event

_TRANSACTION = {
    "type": "object",
    "required": ["id", "kind", "amount", "reference", "description", "created_at"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "kind": {"enum": ["topup", "payment", "refund", "cashback"]},
        "amount": {"type": "integer", "description": "the member's side: + credited, - debited"},
        "reference": {"type": "string"},
        "description": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}


@dataclass(frozen=True, kw_only=True)
class LedgerLine:
    """The ledger transaction that changed the balance, from the member's side."""

    id: str
    kind: str
    amount: int
    reference: str
    description: str
    created_at: datetime


@event(
    name="wallet.balance_changed",
    version=1,
    source="wallet",
    description="A member's balance changed; carries the new absolute balance and what changed it.",
    schema={
        "type": "object",
        "required": ["member_id", "balance", "currency", "transaction"],
        "additionalProperties": False,
        "properties": {
            "member_id": {"type": "string", "format": "uuid"},
            "balance": {"type": "integer", "minimum": 0},
            "currency": {"const": "IDR"},
            "transaction": _TRANSACTION,
        },
    },
)
@dataclass(frozen=True, kw_only=True)
class BalanceChanged:
    member_id: str
    balance: int
    transaction: LedgerLine
    currency: str = "IDR"
