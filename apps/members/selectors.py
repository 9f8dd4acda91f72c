from apps.members.models import Member
from apps.members.services import MemberNotFound


def member_get(*, member_id: str) -> Member:
    member = Member.objects.filter(id=member_id).first()
    if member is None:
        raise MemberNotFound()
    return member
