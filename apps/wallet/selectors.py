from django.db.models import QuerySet

from apps.wallet.models import LedgerTransaction


def member_transactions(*, member_id: str) -> QuerySet[LedgerTransaction]:
    """The member's ledger history (paginate it newest first)."""
    return LedgerTransaction.objects.filter(member_id=member_id)
