"""Figure 5's actors, made the way Blipay makes them: ``python -m bench.api_setup``.

Runs as a child process of the bench on the figure's own broker vhost (so the events of
the set-up, like the load's, never reach a Blipay on the default vhost). Registers the
merchants and members through their public.py, tops every member up through the real
flow (a top-up, then the bank's confirmation), and drains the events so the payments
module's merchant replica knows every merchant. Writes one line per member to the file
it is given: ``<member token> <merchant id>``, the pair the load generator pays with.
"""

import argparse
import os
import sys
import time
import uuid

import django


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_setup", description=__doc__)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--merchants", type=int, required=True)
    parser.add_argument("--balance", type=int, required=True, help="rupiah each member is topped up with")
    parser.add_argument("--out", required=True, help="file for the '<token> <merchant id>' lines")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()

    from django.utils import timezone

    from apps.members.public import member_register
    from apps.merchants.public import merchant_register
    from apps.payments.models import MerchantReplica
    from apps.payments.public import bank_payment_confirm, topup_create
    from apps.wallet.public import balance_of
    from blipay.events.consumers import drain

    started = time.perf_counter()
    run = uuid.uuid4().hex[:8]
    merchants = [
        merchant_register(name=f"Bench merchant {i}", email=f"m{i}-{run}@bench.blipay.test").id
        for i in range(args.merchants)
    ]
    lines = []
    for i in range(args.members):
        registration = member_register(
            name=f"Bench member {i}", email=f"b{i}-{run}@bench.blipay.test", phone="+6281200000000"
        )
        member_id = registration.id
        topup = topup_create(member_id=member_id, amount=args.balance)
        paid_at = timezone.now()
        confirmation = bank_payment_confirm(
            reference=topup.reference,
            amount=args.balance,
            bank_transaction_id=f"BENCH-{run}-{i}",
            paid_at=paid_at,
            payload={"reference": topup.reference, "amount": args.balance, "paid_at": paid_at.isoformat()},
        )
        if not confirmation.credited:
            print(f"bench.api_setup: the bank refused the top-up: {confirmation.outcome} {confirmation.message}")
            return 1
        lines.append(f"{registration.token} {merchants[i % len(merchants)]}\n")
    delivered = drain(rounds=200)
    known = MerchantReplica.objects.filter(id__in=merchants).count()
    funded = sum(balance_of(member_id=str(m)) >= args.balance for m in _member_ids(lines))
    if known != len(merchants) or funded != args.members:
        print(f"bench.api_setup: {known}/{len(merchants)} merchants replicated, {funded}/{args.members} funded")
        return 1
    with open(args.out, "w") as out:
        out.writelines(lines)
    seconds = time.perf_counter() - started
    print(
        f"bench.api_setup: {args.members} members, {len(merchants)} merchants, {delivered} deliveries, {seconds:.1f} s"
    )
    return 0


def _member_ids(lines: list[str]) -> list[str]:
    from blipay.identity.credentials import principal_for

    return [principal_for(line.split()[0]).id for line in lines]


if __name__ == "__main__":
    sys.exit(main())
