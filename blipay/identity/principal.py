"""The caller a request acts as. Plain data: no model, no database, so anything that learns
who the caller is (a bearer token, a signed header) can build one."""

from dataclasses import dataclass

MEMBER = "member"
MERCHANT = "merchant"
STAFF = "staff"


@dataclass(frozen=True)
class Principal:
    """Who is calling: DRF's ``request.user`` for authenticated requests."""

    kind: str
    id: str

    is_authenticated = True
    is_anonymous = False

    @property
    def is_staff(self) -> bool:
        return self.kind == STAFF

    def is_member(self, member_id: object) -> bool:
        return self.kind == MEMBER and self.id == str(member_id)

    def is_merchant(self, merchant_id: object) -> bool:
        return self.kind == MERCHANT and self.id == str(merchant_id)

    def is_member_or_staff(self, member_id: object) -> bool:
        """The member themselves, or staff: who may see and change a member's things."""
        return self.is_staff or self.is_member(member_id)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"
