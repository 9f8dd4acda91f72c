"""Commands of the members module: the only code that writes members."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from apps.members.errors import MemberExists, MemberNotFound
from apps.members.events import MemberRegistered, MemberSaved
from apps.members.models import Member
from blipay.events.outbox import Outbound, emit
from blipay.identity.credentials import credential_issue
from blipay.identity.models import Credential


@dataclass(frozen=True)
class Registration:
    member: Member
    token: str


def member_register(*, name: str, email: str, phone: str) -> Registration:
    """Register a member and issue their bearer token (returned once, stored hashed)."""
    email = email.strip().lower()
    with transaction.atomic():
        try:
            with transaction.atomic():
                member = Member.objects.create(name=name.strip(), email=email, phone=phone.strip())
        except IntegrityError:
            raise MemberExists() from None
        token = credential_issue(kind=Credential.MEMBER, subject=str(member.id))
        emit(
            _saved(member),
            Outbound(
                MemberRegistered(member_id=str(member.id), registered_at=member.created_at),
                subject=str(member.id),
                sequence=1,
            ),
        )
    return Registration(member=member, token=token)


def member_update(
    *, member_id: str, name: str | None = None, email: str | None = None, phone: str | None = None
) -> Member:
    """Change a member's profile; fields left None stay as they are."""
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(id=member_id).first()
        if member is None:
            raise MemberNotFound()
        changes = {
            "name": name and name.strip(),
            "email": email and email.strip().lower(),
            "phone": phone and phone.strip(),
        }
        changes = {
            field: value for field, value in changes.items() if value is not None and value != getattr(member, field)
        }
        if not changes:
            return member
        if "email" in changes and Member.objects.filter(email=changes["email"]).exclude(id=member.id).exists():
            raise MemberExists()
        for field, value in changes.items():
            setattr(member, field, value)
        member.version += 1
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            raise MemberExists() from None
        emit(_saved(member))
    return member


def _saved(member: Member) -> Outbound:
    payload = MemberSaved(
        id=str(member.id),
        name=member.name,
        email=member.email,
        phone=member.phone,
        created_at=member.created_at,
        updated_at=member.updated_at,
    )
    return Outbound(payload, subject=str(member.id), sequence=member.version)
