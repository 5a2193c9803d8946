from celery import shared_task

from .idempotency import idempotency_keys_expire


@shared_task
def expire_idempotency_keys() -> int:
    """Forget Idempotency-Keys older than 48 hours (they are promised for at least 24)."""
    return idempotency_keys_expire()
