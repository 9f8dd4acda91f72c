from celery import shared_task

from strangler.analysis import analyse_all


@shared_task(name="strangler.analyse", ignore_result=True)
def analyse() -> list[str]:
    """Automatic canary analysis: beat runs it every few seconds in the monolith."""
    return analyse_all(actor="auto-canary")
