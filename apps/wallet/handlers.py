from apps.promotions.events import CashbackGranted
from apps.wallet.models import Account, LedgerTransaction
from apps.wallet.services import Posting, account_of, posting_apply
from blipay.events.envelope import Envelope
from blipay.events.subscriptions import Subscription, register_handlers


def cashback_credit(event: Envelope) -> None:
    """Credit a cashback grant, once per grant however often the event arrives."""
    grant = event.data
    posting_apply(
        Posting(
            kind=LedgerTransaction.CASHBACK,
            reference=grant["id"],
            member_id=grant["member_id"],
            amount=grant["amount"],
            counterparty=account_of(Account.SYSTEM, Account.PROMOTIONS),
            description="Cashback",
        )
    )


register_handlers("wallet", [Subscription(CashbackGranted, cashback_credit)])
