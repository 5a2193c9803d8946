"""How a merchant's stores are doing: pickup and delivery figures per store over its last 7 and 30 local days.

The figures speak of the orders created in the period (the store's local days, today included), so
a day's bar in the chart and the rates in the table count the same orders:

- on-time pickup: of the pickups due (the first window the order was scheduled into, for each
  delivery attempt, has ended, or the order was picked up), those picked up by that window's end. A
  missed pickup, a parcel left at the counter or a driver arriving after the window counts as late;
- ready to picked up: from the attempt's "ready" to the driver's scan, the median;
- delivered and first-attempt rates: of the orders a driver tried to deliver (delivered or failed),
  those delivered at all, and those delivered with no failed attempt before;
- failed: failed delivery attempts; returned: parcels handed back over the counter; cancelled: orders.

Everything is read from the ledger in two queries whatever the number of stores and orders (the
orders; their status changes, each "scheduled" with the end of its window) and worked out in one
pass per order (`figures_of`: no database, easy to test on DST days).
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce
from itertools import groupby
from operator import itemgetter, or_
from statistics import median
from zoneinfo import ZoneInfo

from django.db.models import Case, F, IntegerField, OuterRef, Q, Subquery, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from merchants.models import Store

from .csv_orders import _safe as spreadsheet_safe
from .models import Order, OrderEvent, PickupWindow

Status = Order.Status
PERIODS = (7, 30)  # days, today included
CHART_DAYS = 30

# What became of an order, for the chart: each status falls in one outcome.
OUTCOMES = [
    ("delivered", "Delivered"),
    ("failed", "Failed delivery"),
    ("collected", "Collected in store"),
    ("cancelled", "Cancelled"),
    ("in_progress", "In progress"),
]
OUTCOME_OF = {
    Status.DELIVERED: "delivered",
    Status.DELIVERY_FAILED: "failed",
    Status.RETURNED: "failed",
    Status.COLLECTED: "collected",
    Status.CANCELLED: "cancelled",
}


@dataclass
class OrderRow:
    """What the figures need of one order: its store's local day of creation, its status, its moves."""

    pk: int
    store_id: int
    created: date
    status: str
    moves: list[tuple] = field(default_factory=list)  # (from, to, at, window's end if scheduled) in ledger order


@dataclass
class Figures:
    """One store's figures over one period."""

    days: int
    first_day: date
    last_day: date
    orders: int = 0
    pickups_due: int = 0
    on_time: int = 0
    ready_to_pickup: list[timedelta] = field(default_factory=list)
    attempted: int = 0
    delivered: int = 0
    first_attempt: int = 0
    failed: int = 0
    returned: int = 0
    cancelled: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.pickups_due)

    @property
    def delivered_rate(self) -> float | None:
        return _rate(self.delivered, self.attempted)

    @property
    def first_attempt_rate(self) -> float | None:
        return _rate(self.first_attempt, self.attempted)

    @property
    def median_ready_to_pickup(self) -> timedelta | None:
        if not self.ready_to_pickup:
            return None
        return timedelta(seconds=round(median(gap.total_seconds() for gap in self.ready_to_pickup)))

    @property
    def pickups(self) -> int:
        return len(self.ready_to_pickup)


@dataclass
class Day:
    day: date
    outcomes: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    @property
    def labelled(self) -> list[tuple[str, int]]:
        return [(label, self.outcomes[key]) for key, label in OUTCOMES]


@dataclass
class StorePerformance:
    store: Store
    today: date
    periods: list[Figures]
    days: list[Day]  # the chart's days, oldest first

    def period(self, days: int) -> Figures:
        return next(figures for figures in self.periods if figures.days == days)

    @property
    def totals(self) -> list[tuple[str, int]]:
        """The chart's days added up, by outcome: (label, orders)."""
        return [(label, sum(day.outcomes[key] for day in self.days)) for key, label in OUTCOMES]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def stores_performance(stores: Iterable[Store], *, now: datetime | None = None) -> list[StorePerformance]:
    """Each store's figures (stores with their site loaded), in the order given. Two queries."""
    stores = list(stores)
    if not stores:
        return []
    now = now or timezone.now()
    todays = {store.pk: timezone.localdate(now, timezone=ZoneInfo(store.site.timezone)) for store in stores}
    longest = max(*PERIODS, CHART_DAYS)
    rows = _order_rows(stores, todays, longest)
    by_store: dict[int, list[OrderRow]] = {}
    for row in rows:
        by_store.setdefault(row.store_id, []).append(row)
    return [
        StorePerformance(
            store=store,
            today=todays[store.pk],
            periods=[figures_of(by_store.get(store.pk, []), todays[store.pk], days, now) for days in PERIODS],
            days=days_of(by_store.get(store.pk, []), todays[store.pk], CHART_DAYS),
        )
        for store in stores
    ]


def _order_rows(stores: list[Store], todays: dict[int, date], days: int) -> list[OrderRow]:
    """The stores' orders created in their last `days` local days, with their status changes: two queries."""
    since = {
        store.pk: datetime.combine(todays[store.pk] - timedelta(days=days - 1), time(0), tzinfo=_zone(store))
        for store in stores
    }
    created = reduce(or_, (Q(store_id=pk, created_at__gte=start) for pk, start in since.items()))
    orders = Order.objects.filter(created)
    zones = {store.pk: _zone(store) for store in stores}
    rows = {
        pk: OrderRow(pk=pk, store_id=store_id, created=timezone.localdate(at, timezone=zones[store_id]), status=status)
        for pk, store_id, status, at in orders.values_list("pk", "store_id", "status", "created_at")
    }
    window = Case(When(to_status=Status.SCHEDULED, then=Cast(KT("details__window"), IntegerField())))
    moves = (
        OrderEvent.objects.filter(order_id__in=orders.values("pk"))
        .exclude(to_status=F("from_status"))  # notes (a driver arrived...) change nothing here
        .annotate(window_id=window)
        .annotate(window_ends=Subquery(PickupWindow.objects.filter(pk=OuterRef("window_id")).values("ends_at")[:1]))
        .order_by("order_id", "pk")
        .values_list("order_id", "from_status", "to_status", "occurred_at", "window_ends")
    )
    for order_id, events in groupby(moves.iterator(chunk_size=2000), key=itemgetter(0)):
        if order_id in rows:  # created meanwhile, after the first query: counted next time
            rows[order_id].moves = [event[1:] for event in events]
    return list(rows.values())


def _zone(store: Store) -> ZoneInfo:
    return ZoneInfo(store.site.timezone)


def figures_of(rows: list[OrderRow], today: date, days: int, now: datetime) -> Figures:
    """One store's figures over its last `days` local days (today included), from its orders' moves."""
    first = today - timedelta(days=days - 1)
    figures = Figures(days=days, first_day=first, last_day=today)
    for row in rows:
        if first <= row.created <= today:
            _count(figures, row, now)
    return figures


def _count(figures: Figures, row: OrderRow, now: datetime) -> None:
    """Add one order to the figures, walking its moves in ledger order."""
    figures.orders += 1
    figures.cancelled += row.status == Status.CANCELLED
    ready_at = due_by = None  # this attempt's "ready" and the end of its first window
    delivered = failed_before = False
    for frm, to, at, window_ends in row.moves:
        if to == Status.READY and frm in ("", Status.CREATED, Status.RETURNED):  # a new attempt starts
            ready_at, due_by = at, None
        elif to == Status.SCHEDULED and due_by is None:
            due_by = window_ends
        elif to == Status.PICKED_UP:
            figures.pickups_due += 1
            figures.on_time += due_by is not None and at <= due_by
            if ready_at is not None:
                figures.ready_to_pickup.append(at - ready_at)
            ready_at = due_by = None
        elif to == Status.DELIVERED:
            delivered = True
        elif to == Status.DELIVERY_FAILED:
            figures.failed += 1
            failed_before = True
        elif to == Status.RETURNED:
            figures.returned += 1
        elif to == Status.CANCELLED and due_by is not None and at < due_by:
            due_by = None  # cancelled before its pickup was due
    if due_by is not None and due_by <= now:  # its window has ended and it is still not picked up: late
        figures.pickups_due += 1
    if delivered or failed_before:
        figures.attempted += 1
        figures.delivered += delivered
        figures.first_attempt += delivered and not failed_before


def days_of(rows: list[OrderRow], today: date, days: int) -> list[Day]:
    """Orders created on each of the last `days` local days, by what became of them."""
    first = today - timedelta(days=days - 1)
    chart = {first + timedelta(days=n): dict.fromkeys((key for key, _ in OUTCOMES), 0) for n in range(days)}
    for row in rows:
        if row.created in chart:
            chart[row.created][OUTCOME_OF.get(row.status, "in_progress")] += 1
    return [Day(day=day, outcomes=counts) for day, counts in chart.items()]


CSV_COLUMNS = [
    "store",
    "site",
    "time_zone",
    "period",
    "first_day",
    "last_day",
    "orders",
    "pickups_due",
    "picked_up_on_time",
    "on_time_pickup_rate",
    "median_ready_to_pickup_minutes",
    "delivery_attempted",
    "delivered",
    "delivered_rate",
    "delivered_first_attempt",
    "first_attempt_rate",
    "failed_attempts",
    "returned",
    "cancelled",
    *(f"day_{key}" for key, _ in OUTCOMES),  # the chart's figures, on the "day" lines
]


def performance_csv(performances: list[StorePerformance]) -> str:
    """The dashboard's figures: a line per store and period ("7 days", "30 days"), then one per store and
    day of the chart ("day"), every cell safe to open in a spreadsheet (a store named "=..." stays text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for performance in performances:
        for figures in performance.periods:
            writer.writerow(_csv_line(performance, figures))
    for performance in performances:
        for day in performance.days:
            writer.writerow(_csv_day(performance, day))
    return buffer.getvalue()


def _csv_line(performance: StorePerformance, figures: Figures) -> list[str]:
    gap = figures.median_ready_to_pickup
    values = [
        figures.orders,
        figures.pickups_due,
        figures.on_time,
        _ratio(figures.on_time_rate),
        "" if gap is None else round(gap.total_seconds() / 60),
        figures.attempted,
        figures.delivered,
        _ratio(figures.delivered_rate),
        figures.first_attempt,
        _ratio(figures.first_attempt_rate),
        figures.failed,
        figures.returned,
        figures.cancelled,
    ]
    store = performance.store
    head = [
        store.name,
        store.site.name,
        store.site.timezone,
        f"{figures.days} days",
        figures.first_day,
        figures.last_day,
    ]
    return [spreadsheet_safe(value) for value in [*head, *values, *([""] * len(OUTCOMES))]]


def _csv_day(performance: StorePerformance, day: Day) -> list[str]:
    store = performance.store
    head = [store.name, store.site.name, store.site.timezone, "day", day.day, day.day, day.total]
    outcomes = [day.outcomes[key] for key, _ in OUTCOMES]
    return [spreadsheet_safe(value) for value in [*head, *([""] * 12), *outcomes]]


def _ratio(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.3f}"
