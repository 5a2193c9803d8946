"""Pickup windows on a local day's clock: where a window's bar starts and how wide it is, and the hour grid.

Shared by the admin's week at a site (`site_week`) and the merchant's pickup schedule (`pickup_days`).
Geometry is plain numbers on a 0-100 scale, computed here, so templates draw it as SVG attributes: the
content security policy forbids the inline styles a CSS position would need.
"""

import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from .models import PickupWindow

# Hours shown when there are no windows: the usual trading day.
DEFAULT_HOURS = (8, 22)
# A grid line and an hour's name every this many hours.
GRID_HOURS = 2


@dataclass(frozen=True)
class Scale:
    """Whole local clock hours from `first` to `last` across the width of a row (0 to 100)."""

    first: int
    last: int

    @classmethod
    def covering(cls, windows: list[PickupWindow], zone: ZoneInfo) -> "Scale":
        return cls(*hour_range([local_hours(window, zone) for window in windows]))

    def x(self, hour: float) -> float:
        return 100 * (hour - self.first) / (self.last - self.first)

    def place(self, window: PickupWindow, zone: ZoneInfo) -> tuple[float, float]:
        """The window's bar: its left edge and width, as percent of the row."""
        opens, closes = local_hours(window, zone)
        return self.x(opens), self.x(closes) - self.x(opens)

    @property
    def hours(self) -> list[tuple[float, str]]:
        """The grid lines: (x percent, "10 AM") every GRID_HOURS hours, both ends included."""
        return [(self.x(hour), hour_name(hour)) for hour in range(self.first, self.last + 1, GRID_HOURS)]


def hour_range(spans: list[tuple[float, float]]) -> tuple[int, int]:
    """Whole local hours covering every window with an hour to spare, an even number of them for the
    two-hourly grid; the usual trading day when there is nothing to show."""
    if not spans:
        return DEFAULT_HOURS
    first = max(math.floor(min(opens for opens, _ in spans)) - 1, 0)
    last = math.ceil(max(closes for _, closes in spans)) + 1
    if (last - first) % 2:
        first, last = (first - 1, last) if first > 0 else (first, last + 1)
    return first, last


def local_hours(window: PickupWindow, zone: ZoneInfo) -> tuple[float, float]:
    """Start and end as clock hours of the window's local day (10:30 is 10.5 on a DST day too; an end
    past midnight counts on from 24)."""

    def clock(moment: datetime) -> float:
        local = timezone.localtime(moment, zone)
        return 24 * (local.date() - window.local_date).days + local.hour + local.minute / 60

    return clock(window.starts_at), clock(window.ends_at)


def booked_share(window: PickupWindow, packages: int | None = None) -> float:
    """`packages` (all booked ones unless given) as a share of the window's capacity, at most 1."""
    booked = window.booked_packages if packages is None else packages
    return min(booked / window.capacity_packages, 1) if window.capacity_packages else 0


def hour_name(hour: int) -> str:
    hour %= 24
    return f"{hour % 12 or 12} {'AM' if hour < 12 else 'PM'}"
