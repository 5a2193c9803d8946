"""A week at a site for the program team: one row per local day, each pickup window a bar placed by
its local start and end, coloured by status, filled by its bookings against capacity.

The geometry (`timelines`, shared with the merchant's pickup schedule) is plain numbers in a 0-100 scale,
so the admin template only draws SVG, which the content security policy allows where inline styles are not.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateformat import format as date_format

from merchants.models import Site

from .models import PickupWindow
from .timelines import Scale, booked_share


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
    scale = Scale.covering(windows, zone)
    by_day = {day: [] for day in days}
    for window in windows:
        x, width = scale.place(window, zone)
        bar = Bar(window=window, x=x, width=width, filled=width * booked_share(window), label=_label(window, zone))
        by_day[window.local_date].append(bar)
    rows = [
        Day(
            day=day,
            bars=bars,
            booked=sum(bar.window.booked_packages for bar in bars),
            capacity=sum(bar.window.capacity_packages for bar in bars),
        )
        for day, bars in by_day.items()
    ]
    return Week(site=site, start=start, days=rows, hours=scale.hours)


def _label(window: PickupWindow, zone: ZoneInfo) -> str:
    opens = date_format(timezone.localtime(window.starts_at, zone), "g:i A")
    closes = date_format(timezone.localtime(window.ends_at, zone), "g:i A T")
    driver = f", driver {window.driver_name}" if window.driver_name else ""
    booked = f"{window.booked_packages} of {window.capacity_packages} packages booked"
    return f"{opens}–{closes}: {window.get_status_display()}, {booked}{driver}"
