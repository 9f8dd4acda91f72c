from apps.payments.errors import PaymentNotFound, TopUpNotFound
from apps.payments.models import Payment, TopUp
from blipay.identity.principal import Principal


def topup_visible(*, topup_id: str, principal: Principal) -> TopUp:
    """The top-up if ``principal`` may see it (its member, staff); else TopUpNotFound."""
    topup = TopUp.objects.filter(id=topup_id).first()
    if topup is None or not principal.is_member_or_staff(topup.member_id):
        raise TopUpNotFound()
    return topup


def payment_visible(*, payment_id: str, principal: Principal) -> Payment:
    """The payment if ``principal`` may see it (its member, its merchant, staff)."""
    payment = Payment.objects.filter(id=payment_id).first()
    if payment is None or not (
        principal.is_member_or_staff(payment.member_id) or principal.is_merchant(payment.merchant_id)
    ):
        raise PaymentNotFound()
    return payment
