from celery import shared_task
from django.core.management import call_command


@shared_task(queue="orders", acks_late=True)
def load_instruments_task() -> None:
    """The morning refresh of the instrument list; a failed download keeps the old one."""
    call_command("load_instruments")
