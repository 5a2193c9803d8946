from celery import shared_task

from .services import notification_deliver, notifications_due


@shared_task
def deliver_notification(*, notification_id: int) -> None:
    notification_deliver(notification_id=notification_id)


@shared_task
def resend_stuck_notifications() -> int:
    """Deliver what the broker lost or what failed earlier and is due again."""
    due = notifications_due()
    for notification_id in due:
        notification_deliver(notification_id=notification_id)
    return len(due)
