"""The merchant's pickup schedule: for each site of its stores, one local day of pickup windows on the day's
clock (`timelines`, shared with the admin's week at a site), each window with only this merchant's orders
and parcels and its bookings against its capacity.

Days are each site's own: "today" is the site's local date (at 11:30 PM in Chandler it is already tomorrow
at Tysons), and day N is N days after it, so a day switcher of offsets means the same thing at every site.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateformat import format as date_format

from merchants.models import Merchant, Site

from . import selectors
from .models import Order, PickupWindow
from .timelines import Scale, booked_share
from .windows import PLAN_DAYS

DAYS = PLAN_DAYS  # today and the next days: as far ahead as windows are planned


@dataclass(frozen=True)
class WindowRow:
    """A window of the day: its bar, the booked part of it and the merchant's own part, and its orders."""

    window: PickupWindow
    x: float  # left edge, percent of the row
    width: float  # percent of the row
    booked: float  # width of the part booked by anyone, the bar's width times booked / capacity
    mine: float  # width of the part booked by this merchant
    orders: list[Order]  # the merchant's, each with `package_count`
    packages: int  # the merchant's parcels in it


@dataclass(frozen=True)
class SiteDay:
    site: Site
    day: date
    zone: str  # the zone's abbreviation that day, at noon: "MST", "EDT"
    rows: list[WindowRow]
    hours: list[tuple[float, str]]  # grid lines: (x percent, "10 AM")

    @property
    def orders(self) -> int:
        return sum(len(row.orders) for row in self.rows)

    @property
    def packages(self) -> int:
        return sum(row.packages for row in self.rows)

    @property
    def booked(self) -> int:
        return sum(row.window.booked_packages for row in self.rows)

    @property
    def capacity(self) -> int:
        return sum(row.window.capacity_packages for row in self.rows)


@dataclass(frozen=True)
class DayChoice:
    offset: int  # days after each site's today
    label: str  # "Today", "Tomorrow", "Wed Dec 2", or "In 3 days" where the sites' dates differ
    orders: int  # the merchant's orders in windows that day, at all its sites
    current: bool


@dataclass(frozen=True)
class Schedule:
    offset: int
    days: list[SiteDay]  # one per site, in the site's name order
    choices: list[DayChoice]


def pickup_days(*, merchant: Merchant, offset: int = 0, now: datetime | None = None) -> Schedule:
    """Day `offset` (0: today, up to DAYS - 1) at each of the merchant's sites. Four queries whatever the
    number of sites, windows and orders: the sites, the windows, their orders, the counts per day."""
    now = now or timezone.now()
    sites = list(selectors.merchant_sites(merchant))
    zones = {site.pk: ZoneInfo(site.timezone) for site in sites}
    todays = {site.pk: timezone.localdate(now, zones[site.pk]) for site in sites}
    chosen = {pk: today + timedelta(days=offset) for pk, today in todays.items()}
    windows: dict[int, list[PickupWindow]] = {site.pk: [] for site in sites}
    if sites:
        for window in selectors.merchant_windows_on(merchant, chosen):
            windows[window.site_id].append(window)
    days = [_site_day(site, chosen[site.pk], windows[site.pk], zones[site.pk]) for site in sites]
    counts = selectors.merchant_orders_per_day(merchant, todays, DAYS) if sites else {}
    return Schedule(offset=offset, days=days, choices=_choices(todays, counts, offset))


def _site_day(site: Site, day: date, windows: list[PickupWindow], zone: ZoneInfo) -> SiteDay:
    scale = Scale.covering(windows, zone)
    rows = []
    for window in windows:
        x, width = scale.place(window, zone)
        packages = sum(order.package_count for order in window.my_orders)
        rows.append(
            WindowRow(
                window=window,
                x=x,
                width=width,
                booked=width * booked_share(window),
                mine=width * booked_share(window, packages),
                orders=window.my_orders,
                packages=packages,
            )
        )
    zone_name = datetime.combine(day, time(12), tzinfo=zone).tzname()
    return SiteDay(site=site, day=day, zone=zone_name, rows=rows, hours=scale.hours)


def _choices(todays: dict[int, date], counts: dict[tuple[int, date], int], current: int) -> list[DayChoice]:
    choices = []
    for offset in range(DAYS):
        dates = {pk: today + timedelta(days=offset) for pk, today in todays.items()}
        orders = sum(counts.get((pk, day), 0) for pk, day in dates.items())
        choices.append(DayChoice(offset, _day_label(offset, set(dates.values())), orders, offset == current))
    return choices


def _day_label(offset: int, dates: set[date]) -> str:
    if offset == 0:
        return "Today"
    if offset == 1:
        return "Tomorrow"
    if len(dates) == 1:
        return date_format(next(iter(dates)), "D M j")
    return f"In {offset} days"  # the sites' local dates differ (around midnight): no one date is right
