from apps.merchants.models import Merchant
from apps.merchants.services import MerchantNotFound


def merchant_get(*, merchant_id: str) -> Merchant:
    merchant = Merchant.objects.filter(id=merchant_id).first()
    if merchant is None:
        raise MerchantNotFound()
    return merchant
