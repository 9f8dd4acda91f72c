"""A stored history of Blipay's own events, as large as a growth figure needs.

A template of 10,000 events is emitted through ``emit()`` (so each is built, validated and
stored as in production): for each of 100 members one ``member.saved`` and 99
``wallet.balance_changed``. Larger histories are copies of the template made in SQL, each
copy a new set of members: the event id, the subject, the member's id and email and the
ledger transaction's id are rewritten (``md5(old || copy)::uuid``, so ids stay unique and
well formed). Everything is stored as sent, as the outbox keeps relayed events.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from apps.members.events import MemberSaved
from apps.wallet.events import BalanceChanged, LedgerLine
from blipay.events.outbox import Outbound, emit

MEMBERS = 100
CHANGES = 99  # per member, after its member.saved
TEMPLATE = MEMBERS * (1 + CHANGES)
TYPES = (MemberSaved.TYPE.routing_key, BalanceChanged.TYPE.routing_key)

_COPY = f"""
INSERT INTO published (id, version, destination, body, added, expires_at, retry, status, headers)
SELECT md5(t.id::text || c)::uuid, t.version, t.destination,
       jsonb_set(jsonb_set(jsonb_set(t.body,
           '{{id}}', to_jsonb(md5(t.id::text || c)::uuid::text)),
           '{{subject}}', to_jsonb(md5((t.body->>'subject') || c)::uuid::text)),
           '{{data}}', CASE t.destination
               WHEN '{MemberSaved.TYPE.routing_key}' THEN jsonb_set(jsonb_set(t.body->'data',
                   '{{id}}', to_jsonb(md5((t.body->>'subject') || c)::uuid::text)),
                   '{{email}}', to_jsonb(c || '.' || (t.body->'data'->>'email')))
               ELSE jsonb_set(jsonb_set(t.body->'data',
                   '{{member_id}}', to_jsonb(md5((t.body->>'subject') || c)::uuid::text)),
                   '{{transaction,id}}', to_jsonb(md5((t.body->'data'->'transaction'->>'id') || c)::uuid::text))
           END),
       t.added + c * interval '1 second', t.expires_at, 0, t.status, t.headers
FROM (SELECT * FROM published WHERE destination = ANY(%s) ORDER BY added LIMIT {TEMPLATE}) t
CROSS JOIN generate_series(%s, %s) c
"""


def stored() -> int:
    return Published.objects.filter(destination__in=TYPES).count()


def grow_to(total: int) -> None:
    """Make the history ``total`` events long (a multiple of the template's 10,000)."""
    if total % TEMPLATE:
        raise ValueError(f"a history is a multiple of {TEMPLATE} events, not {total}")
    if not stored():
        _emit_template()
    have = stored() // TEMPLATE
    if total // TEMPLATE > have:
        with connection.cursor() as cursor:
            cursor.execute(_COPY, [list(TYPES), have, total // TEMPLATE - 1])
            cursor.execute("VACUUM ANALYZE published")


def _no_relay_kick() -> override_settings:
    """The history is stored as already sent: nothing to relay."""
    return override_settings(BLIPAY_EVENTS={**settings.BLIPAY_EVENTS, "RELAY_ON_COMMIT": False})


def _emit_template() -> None:
    start = timezone.now() - timedelta(days=30)
    for m in range(MEMBERS):
        member_id = str(uuid.uuid4())
        events = [
            Outbound(
                MemberSaved(
                    id=member_id,
                    name=f"Member {m}",
                    email=f"member{m}@bench.example",
                    phone=f"+62811{m:07d}",
                    created_at=start,
                    updated_at=start,
                ),
                subject=member_id,
                sequence=1,
            )
        ]
        balance = 0
        for n in range(1, CHANGES + 1):
            balance += 10_000
            line = LedgerLine(
                id=str(uuid.uuid4()),
                kind="topup",
                amount=10_000,
                reference=f"bench-{m}-{n}",
                description="Top-up",
                created_at=start + timedelta(minutes=n),
            )
            changed = BalanceChanged(member_id=member_id, balance=balance, transaction=line)
            events.append(Outbound(changed, subject=member_id, sequence=n))
        with _no_relay_kick(), transaction.atomic():
            emit(*events)
    Published.objects.filter(destination__in=TYPES).update(status=StatusChoice.SUCCEEDED)
