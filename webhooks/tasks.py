from celery import shared_task

from .services import deliveries_due, delivery_send


@shared_task
def send_delivery(*, delivery_id: int) -> None:
    delivery_send(delivery_id=delivery_id)


@shared_task
def send_deliveries(*, delivery_ids: list[int]) -> None:
    """Deliveries written together (one broker message); each is claimed and posted on its own."""
    for delivery_id in delivery_ids:
        delivery_send(delivery_id=delivery_id)


@shared_task
def resend_due_deliveries() -> int:
    """Deliveries whose task was lost or whose retry time has come: one task each."""
    due = deliveries_due()
    for delivery_id in due:
        send_delivery.delay(delivery_id=delivery_id)
    return len(due)
