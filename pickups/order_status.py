"""The pickup block of an order's page: where the order stands on its way to a driver, when drivers are
asked for its pickup, and how soon the page should look again.

A ready order waits for a worker to put it into a pickup window (a task after the commit, then the sweep
every minute): the page asks for this block again until the order is scheduled, then stops. Times are the
site's local time; the template formats them with the zone's abbreviation.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as date_format

from .models import Order, PickupWindow

# How soon the page asks again for a ready order: often just after it was flagged ready (the worker's task
# runs at once), then as often as the sweep that retries it.
POLL_JUST_READY_SECONDS = 3
POLL_WAITING_SECONDS = 30
JUST_READY = timedelta(minutes=2)


@dataclass(frozen=True)
class PickupStatus:
    waiting: str  # what the order waits for now, in the merchant's words ("" once scheduled, or later)
    drivers: str  # for a scheduled order whose window has no driver yet: when drivers are asked
    poll_seconds: int  # ask for the block again after this long; 0: settled, nothing to wait for


def pickup_status(order: Order, *, now: datetime) -> PickupStatus:
    """The block's words and the polling pace for `order` (its store, site and window loaded)."""
    if order.status == Order.Status.SCHEDULED and order.pickup_window:
        zone = ZoneInfo(order.store.site.timezone)
        return PickupStatus(waiting="", drivers=drivers_note(order.pickup_window, zone, now), poll_seconds=0)
    if order.status == Order.Status.CREATED:
        waiting = "Flag it ready once its parcels are packed and labelled: it then goes into the next pickup."
        return PickupStatus(waiting=waiting, drivers="", poll_seconds=0)
    if order.status != Order.Status.READY:
        return PickupStatus(waiting="", drivers="", poll_seconds=0)
    if order.not_scheduled_reason:
        waiting = f"Not scheduled yet: {order.not_scheduled_reason} We look again every minute."
    else:
        waiting = "Waiting for a pickup window: a worker usually finds one within seconds."
    just_ready = order.ready_at is not None and now - order.ready_at < JUST_READY
    return PickupStatus(
        waiting=waiting,
        drivers="",
        poll_seconds=POLL_JUST_READY_SECONDS if just_ready else POLL_WAITING_SECONDS,
    )


def drivers_asked_at(window: PickupWindow, zone: ZoneInfo) -> datetime:
    """When the window's offers go out, in the site's local time: OFFER_LEAD_MINUTES before it starts (the
    moment `deliveries.services.windows_to_offer` first picks it, on the minute sweep after)."""
    starts = window.starts_at.astimezone(UTC)  # elapsed time, not the wall clock of a zone across a DST change
    return timezone.localtime(starts - timedelta(minutes=settings.OFFER_LEAD_MINUTES), zone)


def drivers_note(window: PickupWindow, zone: ZoneInfo, now: datetime) -> str:
    """When drivers are asked for the window, with the zone's abbreviation; "" once one took it (the page
    names the driver) or when nobody will be (a missed or cancelled window)."""
    Status = PickupWindow.Status
    if window.driver_name:
        return ""
    if window.status == Status.OFFERED:
        return "Drivers are being asked now, nearest first."
    if window.status != Status.OPEN:
        return ""
    at = drivers_asked_at(window, zone)
    if at <= now:
        return "Drivers are asked within a minute, nearest first."
    today = timezone.localdate(now, zone)
    shown = date_format(at, "g:i A T" if at.date() == today else "D M j, g:i A T")
    return f"Drivers will be asked at {shown}, {_lead()} before the pickup, nearest first."


def _lead() -> str:
    """OFFER_LEAD_MINUTES in words: "2 hours", "90 minutes", "1 day"."""
    minutes = settings.OFFER_LEAD_MINUTES
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes % size == 0 and minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
