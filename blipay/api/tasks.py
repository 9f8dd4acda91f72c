from celery import shared_task

from blipay.api.idempotency import forget_old_keys as forget


@shared_task(name="blipay.api.forget_old_keys", ignore_result=True)
def forget_old_keys() -> int:
    return forget()
