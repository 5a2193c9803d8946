"""Pickup windows and delivery promises as pure functions of hours, closures, time zone and "now".

No database here: everything is computed in the site's local wall-clock time and converted to
aware UTC instants at the edges, so the rules can be tested on DST days in isolation.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class StoreCalendar:
    """When one store is open: weekday -> (opens, closes) in local time, and its closure dates."""

    hours: dict[int, tuple[time, time]]
    closures: frozenset[date] = frozenset()

    def hours_on(self, day: date) -> tuple[time, time] | None:
        if day in self.closures:
            return None
        return self.hours.get(day.weekday())

    def is_open_on(self, day: date) -> bool:
        return self.hours_on(day) is not None

    def open_days_after(self, day: date, count: int, horizon: int = 60) -> list[date]:
        """The next `count` days after `day` on which the store opens (looking `horizon` days ahead)."""
        days = (day + timedelta(days=offset) for offset in range(1, horizon + 1))
        return [d for d in days if self.is_open_on(d)][:count]


@dataclass(frozen=True)
class Slot:
    """A pickup window: aware UTC instants, and the local day it belongs to."""

    starts_at: datetime
    ends_at: datetime
    local_date: date


def to_utc(day: date, wall: time, tz_name: str) -> datetime:
    """The UTC instant of a local wall-clock time. A time skipped by a spring-forward change
    moves forward by the gap; a repeated fall-back time means its first occurrence."""
    zone = zoneinfo.ZoneInfo(tz_name)
    local = datetime.combine(day, wall).replace(tzinfo=zone, fold=0)
    return local.astimezone(UTC)


def local_date(instant: datetime, tz_name: str) -> date:
    return instant.astimezone(zoneinfo.ZoneInfo(tz_name)).date()


def local_time(instant: datetime, tz_name: str) -> time:
    return instant.astimezone(zoneinfo.ZoneInfo(tz_name)).time()


def site_windows(
    *, day: date, tz_name: str, stores: list[StoreCalendar], length: timedelta, spacing: timedelta
) -> list[Slot]:
    """The windows of one site on one local day.

    They start when the first store opens and repeat every `spacing`; each lies whole within the
    hours of at least one store open that day (no window when none is open, or on its closures).
    """
    open_hours = [hours for store in stores if (hours := store.hours_on(day))]
    if not open_hours:
        return []
    first_open = min(opens for opens, _ in open_hours)
    last_close = max(closes for _, closes in open_hours)
    slots = []
    start = datetime.combine(day, first_open)
    while (end := start + length).time() <= last_close and end.date() == day:
        if any(opens <= start.time() and end.time() <= closes for opens, closes in open_hours):
            slots.append(Slot(to_utc(day, start.time(), tz_name), to_utc(day, end.time(), tz_name), day))
        start += spacing
    return slots


def store_open_during(calendar: StoreCalendar, slot: Slot, tz_name: str) -> bool:
    """Whether the store is open for the whole slot. Hours are one local day's, so a slot that starts or ends on
    another day than its own (one across midnight, say, made by hand) is not within them."""
    hours = calendar.hours_on(slot.local_date)
    if hours is None:
        return False
    opens, closes = hours
    zone = zoneinfo.ZoneInfo(tz_name)
    start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
    return start.date() == end.date() == slot.local_date and opens <= start.time() and end.time() <= closes


@dataclass(frozen=True)
class Promise:
    """The local days an order may be picked up on to keep its service level."""

    first_day: date | None
    last_day: date | None
    reason: str = ""

    def allows(self, day: date) -> bool:
        return self.first_day is not None and self.first_day <= day <= self.last_day


def pickup_deadline(
    *, service_level: str, ready_at: datetime, tz_name: str, calendar: StoreCalendar, cutoff: time
) -> Promise:
    """Same day: that day if made ready before the store's cutoff (local time), else the next
    open day (and only that day: after the cutoff today's windows are for today's orders).
    Two day: any day from now until the second day the store opens after today."""
    ready_day, ready_time = local_date(ready_at, tz_name), local_time(ready_at, tz_name)
    if service_level == "same_day":
        if ready_time < cutoff and calendar.is_open_on(ready_day):
            return Promise(ready_day, ready_day)
        following = calendar.open_days_after(ready_day, 1)
        first = following[0] if following else None
    else:
        following = calendar.open_days_after(ready_day, 2)
        following = following[1:] if len(following) == 2 else []
        first = ready_day
    if not following:
        return Promise(None, None, "The store has no open day coming up.")
    return Promise(first, following[0])


def promised_delivery_day(*, pickup_ends_at: datetime, customer_tz: str) -> date:
    """Delivered the day of the pickup, as the customer's calendar reads it."""
    return local_date(pickup_ends_at, customer_tz)
