from celery import shared_task

from apps.payments.services import topups_expire


@shared_task(name="payments.expire_topups", ignore_result=True)
def expire_topups() -> int:
    return topups_expire()
