from celery import shared_task

from .services import notification_deliver, notifications_due


@shared_task
def deliver_notification(*, notification_id: int) -> None:
    notification_deliver(notification_id=notification_id)


@shared_task
def deliver_notifications(*, notification_ids: list[int]) -> None:
    """A batch written together (one broker message for all); each is claimed and sent on its own."""
    for notification_id in notification_ids:
        notification_deliver(notification_id=notification_id)


@shared_task
def resend_stuck_notifications() -> int:
    """What the broker lost or what failed earlier and is due again: one task each, so a slow
    provider holds up one worker slot, not the whole sweep."""
    due = notifications_due()
    for notification_id in due:
        deliver_notification.delay(notification_id=notification_id)
    return len(due)
