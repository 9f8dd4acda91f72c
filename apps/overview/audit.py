"""The overview's audit check (registered from its app config): the read model's balances
are the wallet's. Compared by groups of members (one query per side through
``apps.wallet.public``), then member by member only inside the groups that differ, so it
never walks every member in Python. A read model lagging behind undelivered events shows
here too: audit a settled system."""

from django.db.models import CharField, Count, QuerySet, Sum
from django.db.models.functions import Cast, Substr

from apps.overview.models import MemberOverview
from apps.wallet.public import BalanceTotal, balance_totals, balances_by_prefix
from blipay.audit import AuditOptions, Finding, register_check

# 16³ groups: about 250 members each at a million members.
PREFIX_LENGTH = 3


def read_model_balances(options: AuditOptions) -> list[Finding]:
    wallet = balance_totals(prefix_length=PREFIX_LENGTH)
    rows = (
        _holding()
        .values("prefix")
        .annotate(members=Count("member_id"), total=Sum("balance"))
        .values_list("prefix", "members", "total")
    )
    overview = {prefix: BalanceTotal(members=members, total=total) for prefix, members, total in rows}
    differing = sorted(p for p in wallet.keys() | overview.keys() if wallet.get(p) != overview.get(p))
    # Each differing group holds at least one finding: look into no more than we report.
    differing = differing[: options.limit]
    theirs = balances_by_prefix(prefixes=differing)
    ours = {str(m): b for m, b in _holding().filter(prefix__in=differing).values_list("member_id", "balance")}
    findings = [
        Finding(
            "overview.balance_vs_wallet",
            member_id,
            f"read model shows {ours.get(member_id, 0):,}, the wallet holds {theirs.get(member_id, 0):,}",
        )
        for member_id in sorted(theirs.keys() | ours.keys())
        if theirs.get(member_id, 0) != ours.get(member_id, 0)
    ]
    return findings[: options.limit]


def _holding() -> QuerySet[MemberOverview]:
    """Members the read model shows holding money, with the group their id falls in (a
    UUID's first characters read the same however the database stores it)."""
    return MemberOverview.objects.exclude(balance=0).annotate(
        prefix=Substr(Cast("member_id", output_field=CharField()), 1, PREFIX_LENGTH)
    )


def register() -> None:
    register_check("overview.balance_vs_wallet", read_model_balances)
