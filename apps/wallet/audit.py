"""The wallet's audit checks (registered from its app config): the ledger balances, each
member's balance is what its entries add up to, and each balance change was announced."""

from django.db.models import Exists, F, OuterRef, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django_outbox_pattern.models import Published

from apps.wallet.events import BalanceChanged
from apps.wallet.models import Account, Entry, LedgerTransaction
from blipay.audit import AuditOptions, Finding, register_check
from blipay.events.registry import type_of


def unbalanced_transactions(options: AuditOptions) -> list[Finding]:
    rows = (
        Entry.objects.values("transaction_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .order_by("transaction_id")
        .values_list("transaction_id", "total")
    )
    return [
        Finding("ledger.unbalanced", str(transaction_id), f"entries sum to {total:+,}, not 0")
        for transaction_id, total in rows[: options.limit]
    ]


def balances_off_ledger(options: AuditOptions) -> list[Finding]:
    rows = (
        Account.objects.filter(kind=Account.MEMBER)
        .values("id", "owner", "balance")
        .annotate(ledger=Coalesce(Sum("entries__amount"), 0))
        .exclude(balance=F("ledger"))
        .order_by("owner")
        .values_list("owner", "balance", "ledger")
    )
    return [
        Finding("wallet.balance_vs_ledger", owner, f"balance {balance:,} but its entries sum to {ledger:,}")
        for owner, balance, ledger in rows[: options.limit]
    ]


def balance_changes_unannounced(options: AuditOptions) -> list[Finding]:
    """Within the outbox's retention, every ledger transaction has its balance_changed."""
    announced = Published.objects.annotate(
        kind=KT("body__data__transaction__kind"), reference=KT("body__data__transaction__reference")
    ).filter(destination=type_of(BalanceChanged).routing_key, kind=OuterRef("kind"), reference=OuterRef("reference"))
    rows = (
        LedgerTransaction.objects.filter(created_at__gte=options.window_start)
        .exclude(Exists(announced))
        .order_by("created_at")
        .values_list("id", "kind", "reference")
    )
    return [
        Finding("wallet.balance_changed_missing", str(id_), f"{kind} {reference} has no wallet.balance_changed")
        for id_, kind, reference in rows[: options.limit]
    ]


def register() -> None:
    register_check("ledger.unbalanced", unbalanced_transactions)
    register_check("wallet.balance_vs_ledger", balances_off_ledger)
    register_check("wallet.balance_changed_missing", balance_changes_unannounced)
