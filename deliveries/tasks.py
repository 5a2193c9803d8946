from celery import shared_task
from django.utils import timezone

from pickups.windows import windows_at_risk

from .handoffs import returns_overdue
from .services import offers_expire, window_offer_wave, windows_to_offer


@shared_task
def offer_windows() -> int:
    """Every minute: expire old offers, send the next wave where one is due, flag windows at risk."""
    now = timezone.now()
    offers_expire(now=now)
    sent = sum(len(window_offer_wave(window_id=window_id, now=now)) for window_id in windows_to_offer(now=now))
    windows_at_risk(now=now)
    return sent


@shared_task
def flag_overdue_returns() -> int:
    """Failed deliveries not back at their store by closing time: tell the program admins."""
    return len(returns_overdue(now=timezone.now()))
