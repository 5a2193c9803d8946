from celery import shared_task
from django.utils import timezone

from pickups.windows import windows_at_risk

from .api.authentication import tokens_expired_delete
from .handoffs import returns_overdue
from .runs import run_announce, windows_unannounced
from .services import (
    offers_expire,
    window_offer_wave,
    window_taken_follow_up,
    windows_taken_unfollowed,
    windows_to_offer,
)


@shared_task
def offer_windows() -> int:
    """Every minute: expire old offers, send the next wave where one is due, flag windows at risk."""
    now = timezone.now()
    for window_id in windows_taken_unfollowed():  # whatever a lost follow_up_accept left
        window_taken_follow_up(window_id=window_id, now=now)
    offers_expire(now=now)
    sent = sum(len(window_offer_wave(window_id=window_id, now=now)) for window_id in windows_to_offer(now=now))
    windows_at_risk(now=now)
    return sent


@shared_task
def flag_overdue_returns() -> int:
    """Failed deliveries not back at their store by closing time: tell the program admins."""
    return len(returns_overdue(now=timezone.now()))


@shared_task
def announce_run(*, window_id: int) -> int:
    """A pickup is over: tell the customers of what was collected that it is on its way, and when."""
    return len(run_announce(window_id=window_id, now=timezone.now()))


@shared_task
def announce_lost_runs() -> int:
    """The sweep behind announce_run: windows whose announcement was lost with its task."""
    now = timezone.now()
    return sum(len(run_announce(window_id=pk, now=now)) for pk in windows_unannounced(now=now))


@shared_task
def follow_up_accept(*, window_id: int) -> int:
    """A driver took the window: its orders' ledgers note the driver, the others' offers are
    withdrawn and they are told, all in bulk."""
    return window_taken_follow_up(window_id=window_id)


@shared_task
def delete_expired_tokens() -> int:
    return tokens_expired_delete()
