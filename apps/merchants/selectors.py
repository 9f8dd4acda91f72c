from apps.merchants.errors import MerchantNotFound
from apps.merchants.models import Merchant


def merchant_get(*, merchant_id: str) -> Merchant:
    merchant = Merchant.objects.filter(id=merchant_id).first()
    if merchant is None:
        raise MerchantNotFound()
    return merchant
