"""A week at a site for the program team: one row per local day, each pickup window a bar placed by
its local start and end, coloured by status, filled by its bookings against capacity.

Geometry is computed here (plain numbers in a 0-100 scale) so the admin template only draws SVG,
which the content security policy allows where inline styles are not.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateformat import format as date_format

from merchants.models import Site

from .models import PickupWindow

# Hours shown when a week has no windows, and the margin kept around the earliest and latest window.
DEFAULT_HOURS = (8, 22)


@dataclass(frozen=True)
class Bar:
    window: PickupWindow
    x: float  # left edge, percent of the row
    width: float  # percent of the row
    filled: float  # width of the booked part: the bar's width times its booked share of capacity
    label: str  # what the bar says to a screen reader and on hover


@dataclass(frozen=True)
class Day:
    day: date
    bars: list[Bar]
    booked: int
    capacity: int


@dataclass(frozen=True)
class Week:
    site: Site
    start: date
    days: list[Day]
    hours: list[tuple[float, str]]  # grid lines: (x percent, "10 AM")

    @property
    def previous(self) -> date:
        return self.start - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.start + timedelta(days=7)


def site_week(*, site: Site, start: date | None = None) -> Week:
    """The seven local days from `start` (the site's today unless given), its windows in one query."""
    zone = ZoneInfo(site.timezone)
    start = start or timezone.localdate(timezone=zone)
    days = [start + timedelta(days=offset) for offset in range(7)]
    windows = list(
        PickupWindow.objects.filter(site=site, local_date__in=days).only(
            "local_date", "starts_at", "ends_at", "status", "capacity_packages", "booked_packages", "driver_name"
        )
    )
    first, last = hour_range([_local_hours(window, zone) for window in windows])
    span = last - first
    by_day = {day: [] for day in days}
    for window in windows:
        opens, closes = _local_hours(window, zone)
        width = 100 * (closes - opens) / span
        share = min(window.booked_packages / window.capacity_packages, 1) if window.capacity_packages else 0
        by_day[window.local_date].append(
            Bar(
                window=window,
                x=100 * (opens - first) / span,
                width=width,
                filled=width * share,
                label=_label(window, zone),
            )
        )
    rows = [
        Day(
            day=day,
            bars=bars,
            booked=sum(bar.window.booked_packages for bar in bars),
            capacity=sum(bar.window.capacity_packages for bar in bars),
        )
        for day, bars in by_day.items()
    ]
    hours = [(100 * (hour - first) / span, _hour_name(hour)) for hour in range(first, last + 1, 2)]
    return Week(site=site, start=start, days=rows, hours=hours)


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


def _local_hours(window: PickupWindow, zone: ZoneInfo) -> tuple[float, float]:
    """Start and end as clock hours of the window's local day (10:30 is 10.5 on a DST day too; an end
    past midnight counts on from 24)."""

    def clock(moment: datetime) -> float:
        local = timezone.localtime(moment, zone)
        return 24 * (local.date() - window.local_date).days + local.hour + local.minute / 60

    return clock(window.starts_at), clock(window.ends_at)


def _label(window: PickupWindow, zone: ZoneInfo) -> str:
    opens = date_format(timezone.localtime(window.starts_at, zone), "g:i A")
    closes = date_format(timezone.localtime(window.ends_at, zone), "g:i A T")
    driver = f", driver {window.driver_name}" if window.driver_name else ""
    booked = f"{window.booked_packages} of {window.capacity_packages} packages booked"
    return f"{opens}–{closes}: {window.get_status_display()}, {booked}{driver}"


def _hour_name(hour: int) -> str:
    hour %= 24
    return f"{hour % 12 or 12} {'AM' if hour < 12 else 'PM'}"
