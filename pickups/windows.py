"""Pickup windows: planning them per site, putting ready orders into them, and missed pickups.

The rules of time live in `scheduling` (pure functions); this module reads and writes rows in
bulk, a few queries per site (per batch of sites for assignment) whatever the number of orders,
and settles races with row locks.
"""

import logging
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from common.actors import SYSTEM
from common.bulk import full_collections_paused, jit_off, rows_read, rows_update
from common.lanes import in_lanes
from common.lookups import AnyOf
from common.tasks import enqueue_on_commit
from merchants.models import Membership, Merchant, Site, Store
from merchants.services import program_admin_emails
from merchants.standing import PICKUP, merchant_refusal
from notifications.services import notification_email

from . import scheduling
from .customer_messages import customers_tell
from .ledger import PlainMove, assignment_ask, order_move, orders_move_plain, orders_save
from .models import Order, Package, PickupWindow
from .window_states import window_move, windows_move, windows_release_capacity, windows_save_bookings

logger = logging.getLogger(__name__)

PLAN_DAYS = 7
OPEN_FOR_ORDERS = [PickupWindow.Status.OPEN, PickupWindow.Status.OFFERED]


def calendar_of(store: Store) -> scheduling.StoreCalendar:
    """The store's hours and closures, read from prefetched rows."""
    return scheduling.StoreCalendar(
        hours={hours.weekday: (hours.opens, hours.closes) for hours in store.opening_hours.all()},
        closures=frozenset(closure.date for closure in store.closures.all()),
    )


def _active_stores():
    return Prefetch(
        "stores", Store.objects.filter(is_active=True).prefetch_related("opening_hours", "closures"), to_attr="active"
    )


def windows_plan(*, now: datetime | None = None) -> int:
    """Keep the next PLAN_DAYS days of windows planned at every site with an active store.

    Missing windows are added; empty open windows that no longer fit the hours are cancelled and
    cancelled empty ones that fit again are reopened. Returns how many windows were added.
    """
    now = now or timezone.now()
    added = 0
    for site in Site.objects.filter(stores__is_active=True).distinct().prefetch_related(_active_stores()):
        calendars = [calendar_of(store) for store in site.active]
        today = scheduling.local_date(now, site.timezone)
        slots = [
            slot
            for offset in range(PLAN_DAYS)
            for slot in scheduling.site_windows(
                day=today + timedelta(days=offset),
                tz_name=site.timezone,
                stores=calendars,
                length=timedelta(minutes=site.window_minutes),
                spacing=timedelta(minutes=site.window_spacing_minutes),
            )
        ]
        added += _sync_site_windows(site, slots, today, now)
    return added


@transaction.atomic
def _sync_site_windows(site: Site, slots: list[scheduling.Slot], today, now) -> int:
    planned = {slot.starts_at for slot in slots}
    horizon = site.pickup_windows.filter(local_date__gte=today, local_date__lt=today + timedelta(days=PLAN_DAYS))
    existing = set(horizon.values_list("starts_at", flat=True))
    PickupWindow.objects.bulk_create(
        PickupWindow(
            site=site,
            local_date=slot.local_date,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            capacity_packages=site.window_capacity_packages,
        )
        for slot in slots
        if slot.starts_at not in existing
    )
    empty = horizon.filter(booked_packages=0, starts_at__gt=now)
    windows_move(
        empty.filter(status=PickupWindow.Status.OPEN).exclude(starts_at__in=planned),
        to=PickupWindow.Status.CANCELLED,
        actor=SYSTEM,
        at=now,
        reason="No store at the site is open throughout it any more.",
    )
    windows_move(
        empty.filter(status=PickupWindow.Status.CANCELLED, starts_at__in=planned),
        to=PickupWindow.Status.OPEN,
        actor=SYSTEM,
        at=now,
        reason="A store at the site is open throughout it again.",
    )
    return len(planned - existing)


@dataclass
class Assignment:
    """What a run did, by order id: the orders scheduled, and those left ready (each saying why)."""

    scheduled: list[int] = field(default_factory=list)
    unscheduled: list[int] = field(default_factory=list)

    def add(self, other: "Assignment") -> None:
        self.scheduled += other.scheduled
        self.unscheduled += other.unscheduled


# Sites handled per transaction: bounds how long rows stay locked and how much a run holds in memory.
SITES_PER_BATCH = 50


class Ready(NamedTuple):
    """A locked ready order, as plain values: assignment builds no model instance per order."""

    pk: int
    external_id: str
    merchant_id: int
    store_id: int
    service_level: str
    ready_at: datetime
    not_scheduled_reason: str
    quoted_window: int | None
    size: int  # its packages


@dataclass(slots=True)
class OpenWindow:
    """A locked window open to orders, as plain values: assignment builds no model instance per window.
    Read by `fitting_windows` and `pick_window` as they read a PickupWindow; `booked_packages` counts the
    orders put in as it goes."""

    id: int
    site_id: int
    starts_at: datetime
    ends_at: datetime
    local_date: date
    capacity_packages: int
    booked_packages: int

    pk = property(lambda self: self.id)
    free_packages = PickupWindow.free_packages  # the model's rule, read from the same attributes


def orders_assign(
    *, order_ids: list[int] | None = None, store_ids: list[int] | None = None, now: datetime | None = None
) -> Assignment:
    """Put ready orders into the earliest window at their site that keeps their promise.

    A window qualifies if it starts after now + PICKUP_LEAD_MINUTES, the order's store is open
    throughout it, it has room for all the order's packages, and it falls within the days the
    service level allows (`choose_window` states the rule for one order). The ready orders are found
    once (one made ready later waits for the task its flag sends, or the sweep), then handled by batch of
    sites, one transaction each, two batches at once on connections of their own (`common.lanes`; one after
    another inside a caller's transaction), with the collector's full passes paused: they are locked (SKIP LOCKED:
    another worker's are left to it) and their windows locked, so concurrent workers never book a
    window over capacity or an order twice. A batch is set-based: its orders are read as plain
    values, the rules are worked out once per store and promise, and the orders, their ledger
    events and the windows' bookings are written by one statement each; customers hear of it from a
    task after commit. Orders of a merchant that may not have orders picked up (not approved) wait,
    saying why, until it is approved again.
    """
    now = now or timezone.now()
    ready = Order.objects.filter(status=Order.Status.READY)
    if order_ids is not None:
        ready = ready.filter(pk__in=order_ids)
    if store_ids is not None:
        ready = ready.filter(store_id__in=store_ids)
    # Locked by primary key batch by batch: a batch's look-up reads its own orders, not every ready order (or
    # every order of its stores) again.
    by_site: dict[int, list[int]] = {}
    for site_id, pk in ready.order_by().values_list("store__site_id", "pk"):
        by_site.setdefault(site_id, []).append(pk)
    sites = sorted(by_site)
    batches = [
        [pk for site_id in sites[start : start + SITES_PER_BATCH] for pk in by_site[site_id]]
        for start in range(0, len(sites), SITES_PER_BATCH)
    ]
    result = Assignment()
    with full_collections_paused():
        for batch_result in in_lanes(lambda batch: _assign_sites(_ready_of(batch), now), batches):
            result.add(batch_result)
    return result


def _ready_of(batch: list[int]):
    return Order.objects.filter(AnyOf(F("pk"), batch), status=Order.Status.READY)


@transaction.atomic
def _assign_sites(ready, now: datetime) -> Assignment:
    jit_off()
    merchants, orders = _lock_ready(ready)
    orders = _hold_for_standing(orders, merchants)
    stores = {
        store.pk: store
        for store in Store.objects.filter(pk__in={order.store_id for order in orders})
        .select_related("site")
        .prefetch_related("opening_hours", "closures")
    }
    calendars = {pk: calendar_of(store) for pk, store in stores.items()}
    promises, last_days = _promises(orders, stores, calendars, now)
    windows = _lock_windows(last_days, now)
    result, moves, left, booked = _choose(orders, stores, calendars, promises, windows)
    windows_save_bookings(booked)
    orders_move_plain(moves, from_status=Order.Status.READY, to=Order.Status.SCHEDULED, actor=SYSTEM, at=now)
    _save_reasons(left, stores, merchants)
    if result.scheduled:
        enqueue_on_commit("pickups.tasks.tell_customers_scheduled", order_ids=result.scheduled)
    return result


def _choose(orders: list[Ready], stores, calendars, promises, windows):
    """A window for each order, in turn (`pick_window` among the `fitting_windows` of its store and
    promise, worked out once per store and promise), booked as it goes. Returns what happened, the
    moves to write, the orders left ready with why, and the windows booked."""
    result, moves, left = Assignment(), [], []
    fitting = {}
    into = {}  # per window: what scheduling into it writes, and the window
    for order in orders:
        store, promise = stores[order.store_id], promises[order.pk]
        key = (order.store_id, promise)
        if key not in fitting:
            site_windows = windows.get(store.site_id, [])
            fitting[key] = fitting_windows(site_windows, store=store, calendar=calendars[store.pk], promise=promise)
        window = pick_window(fitting[key], size=order.size, preferred=order.quoted_window)
        if window is None:
            result.unscheduled.append(order.pk)
            left.append((order, _why_not(store, promise, fitting[key])))
            continue
        window.booked_packages += order.size
        if (scheduled := into.get(window.id)) is None:
            scheduled = into[window.id] = (*_scheduled_in(window, store.site), window)
        writes, details, _ = scheduled
        moves.append(PlainMove(order.pk, order.merchant_id, writes, details))
        result.scheduled.append(order.pk)
    return result, moves, left, [window for _, _, window in into.values()]


def _lock_ready(ready) -> tuple[dict[int, Merchant], list[Ready]]:
    """The batch's ready orders, locked (those another transaction holds are skipped) and taken in the
    order they became ready, with the packages of each; and their merchants."""
    packages = Package.objects.filter(order=OuterRef("pk")).order_by().values("order").annotate(count=Count("pk"))
    rows = (
        ready.select_for_update(skip_locked=True, of=("self",))
        .annotate(size=Coalesce(Subquery(packages.values("count")), 0))
        .order_by("ready_at", "pk")
        .values_list(*Ready._fields[:7], "quote__window_id", "size")
    )
    orders = [Ready(*row) for row in rows_read(rows)]
    return Merchant.objects.in_bulk({order.merchant_id for order in orders}), orders


def _promises(orders: list[Ready], stores, calendars, now: datetime):
    """Each order's promise (`order_promise`) and each site's last promised day. A promise is worked out
    once per store, service level, local day the order became ready and side of the store's cutoff:
    all that `scheduling.pickup_deadline` reads of the time."""
    known, promises, last_days = {}, {}, {}
    for order in orders:
        store = stores[order.store_id]
        local = order.ready_at.astimezone(ZoneInfo(store.site.timezone))
        key = (store.pk, order.service_level, local.date(), local.time() < store.same_day_cutoff)
        if key not in known:
            known[key] = promise = order_promise(store, calendars[store.pk], order.service_level, order.ready_at, now)
            if promise.last_day and promise.last_day > last_days.get(store.site_id, date.min):
                last_days[store.site_id] = promise.last_day
        promises[order.pk] = known[key]
    return promises, last_days


def order_promise(store: Store, calendar, service_level: str, ready_at: datetime, now: datetime):
    """The order's promise, from when it was made ready; once that day has passed without a window
    (all were full), the order is late and goes out as soon as it can, as if made ready now."""
    promise = promise_for(store, calendar, service_level, ready_at)
    if promise.last_day is not None and promise.last_day < scheduling.local_date(now, store.site.timezone):
        return promise_for(store, calendar, service_level, now)
    return promise


def _lock_windows(last_days: dict[int, date], now: datetime) -> dict[int, list[OpenWindow]]:
    """The sites' windows open to orders up to each one's last promised day, by site in time order.
    Locked in id order, as every other writer of windows locks them."""
    sites_by_day: dict[date, list[int]] = {}
    for site_id, day in last_days.items():
        sites_by_day.setdefault(day, []).append(site_id)
    if not sites_by_day:
        return {}
    horizon = reduce(or_, (Q(site_id__in=sites, local_date__lte=day) for day, sites in sites_by_day.items()))
    locked = _open_to_orders(now).filter(horizon).order_by("pk").select_for_update()
    windows: dict[int, list[OpenWindow]] = {}
    for row in rows_read(locked.values_list(*(column.name for column in fields(OpenWindow)))):
        window = OpenWindow(*row)
        windows.setdefault(window.site_id, []).append(window)
    for site_windows in windows.values():
        site_windows.sort(key=lambda window: (window.starts_at, window.pk))
    return windows


def _scheduled_in(window: OpenWindow, site: Site) -> tuple[tuple, dict]:
    """What scheduling an order into the window writes (MOVE_WRITES: the window, no reason, the promised
    day, its customer not told yet), and its ledger event's details."""
    promised = scheduling.promised_delivery_day(pickup_ends_at=window.ends_at, customer_tz=site.timezone)
    return (window.pk, "", promised, True), {
        "window": window.pk,
        "starts_at": window.starts_at.isoformat(),
        "site": site.name,
    }


@transaction.atomic
def customers_tell_scheduled(*, order_ids: list[int]) -> int:
    """Tell the customers of these orders, if still scheduled and not yet told, the day they were promised.
    Run by a task after the assignment commits (a message rendered per customer holds no window's lock), and
    by the sweep for those whose task was lost. The orders are locked, those another run holds skipped, and marked
    told with their messages written (outbox): however often this runs, each customer hears once."""
    these = Order.objects.filter(AnyOf(F("pk"), order_ids))  # a batch's thousands of ids: one array parameter
    orders = list(
        these.filter(status=Order.Status.SCHEDULED, schedule_untold=True)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("store")
    )
    customers_tell(orders=orders, what="scheduled")
    Order.objects.filter(AnyOf(F("pk"), [order.pk for order in orders])).update(schedule_untold=False)
    # Those picked up, cancelled or back to ready meanwhile have nothing left to hear of this schedule.
    moved_on = these.filter(schedule_untold=True).exclude(status=Order.Status.SCHEDULED)
    moved_on.update(schedule_untold=False)
    return len(orders)


# How long after an assignment its own task has to tell the customers before the sweep does.
UNTOLD_GRACE = timedelta(minutes=2)
UNTOLD_BATCH = 1000


def customers_tell_untold(*, now: datetime | None = None) -> int:
    """The sweep: customers of orders scheduled a while ago who never heard of it (the task after the
    assignment was lost with its broker or worker) are told now, a batch per transaction."""
    untold = Order.objects.filter(schedule_untold=True, updated_at__lt=(now or timezone.now()) - UNTOLD_GRACE)
    last, told = 0, 0
    while batch := list(untold.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:UNTOLD_BATCH]):
        try:
            told += customers_tell_scheduled(order_ids=batch)
        except Exception:  # one order's message that cannot be written must not hold back every later batch
            logger.exception(
                "Could not tell the customers of orders %s-%s; the next sweep tries again.", batch[0], batch[-1]
            )
        last = batch[-1]
    return told


def _open_to_orders(now: datetime):
    return PickupWindow.objects.filter(
        status__in=OPEN_FOR_ORDERS, starts_at__gt=now + timedelta(minutes=settings.PICKUP_LEAD_MINUTES)
    )


def promise_for(store: Store, calendar: scheduling.StoreCalendar, service_level: str, ready_at: datetime):
    return scheduling.pickup_deadline(
        service_level=service_level,
        ready_at=ready_at,
        tz_name=store.site.timezone,
        calendar=calendar,
        cutoff=store.same_day_cutoff,
    )


def windows_open_to_orders(site: Site, now: datetime, last_day):
    """The site's windows that can still take orders: open, far enough ahead, within the horizon."""
    return _open_to_orders(now).filter(site=site, local_date__lte=last_day).order_by("starts_at", "pk")


def choose_window(windows, *, store, calendar, promise, size, preferred=None) -> tuple[PickupWindow | None, str]:
    """The window for `size` packages (see `pick_window`), or None and why, in words."""
    fits = fitting_windows(windows, store=store, calendar=calendar, promise=promise)
    window = pick_window(fits, size=size, preferred=preferred)
    return window, "" if window else _why_not(store, promise, fits)


def fitting_windows(windows, *, store, calendar, promise) -> list[PickupWindow]:
    """The windows, in time order, that keep the promise and lie within the store's hours."""
    return [
        window
        for window in windows
        if promise.allows(window.local_date)
        and scheduling.store_open_during(calendar, _slot(window), store.site.timezone)
    ]


def pick_window(fits: list[PickupWindow], *, size: int, preferred: int | None = None) -> PickupWindow | None:
    """The preferred window (a quoted one) if it has room for `size` packages, else the earliest that does."""
    earliest = None
    for window in fits:
        if window.free_packages >= size:
            if not preferred or window.id == preferred:
                return window
            earliest = earliest or window
    return earliest


def _slot(window: PickupWindow) -> scheduling.Slot:
    return scheduling.Slot(window.starts_at, window.ends_at, window.local_date)


def _why_not(store: Store, promise, fits) -> str:
    if promise.last_day is None:
        return promise.reason
    day = f"{promise.last_day:%A, %B} {promise.last_day.day}"
    if fits:
        return f"Every pickup window at {store.site.name} until {day} is full."
    return f"No pickup window at {store.site.name} while {store.name} is open, until {day}."


def _hold_for_standing(orders: list[Ready], merchants: dict[int, Merchant]) -> list[Ready]:
    """The orders whose merchant may have them picked up; the others keep waiting, and say why (one
    UPDATE, only where the reason changed; no alert: the admins suspended the merchant themselves)."""
    refusals = {pk: merchant_refusal(merchant, PICKUP)[:300] for pk, merchant in merchants.items()}
    held = [
        (order.pk, refusals[order.merchant_id])
        for order in orders
        if refusals[order.merchant_id] and order.not_scheduled_reason != refusals[order.merchant_id]
    ]
    rows_update(Order, ("id", "not_scheduled_reason"), held)
    return [order for order in orders if not refusals[order.merchant_id]]


def _save_reasons(left: list[tuple[Ready, str]], stores, merchants) -> None:
    """Orders kept ready say why; a new reason is saved (one UPDATE) and reported to the admins in one
    email listing the orders."""
    new = [(order, reason) for order, reason in left if order.not_scheduled_reason != reason]
    if not new:
        return
    rows_update(Order, ("id", "not_scheduled_reason"), [(order.pk, reason) for order, reason in new])
    listed = [
        {
            "external_id": order.external_id,
            "merchant": merchants[order.merchant_id],
            "store": stores[order.store_id],
            "not_scheduled_reason": reason,
        }
        for order, reason in new
    ]
    notification_email(to=program_admin_emails(), template="order_not_scheduled", context={"orders": listed})


def windows_missed(*, now: datetime | None = None) -> list[PickupWindow]:
    """Windows whose pickup did not happen: nobody accepted by the start, or the driver who
    accepted did not arrive by the end. Their orders go back to ready and are scheduled again."""
    now = now or timezone.now()
    due = (
        PickupWindow.objects.filter(status__in=OPEN_FOR_ORDERS, starts_at__lte=now, booked_packages__gt=0)
        | PickupWindow.objects.filter(status=PickupWindow.Status.ACCEPTED, ends_at__lte=now)
        # a missed window whose order was busy (being cancelled, say) when it was swept
        | PickupWindow.objects.filter(status=PickupWindow.Status.MISSED, orders__status=Order.Status.SCHEDULED)
    )
    missed = [window_mark_missed(window_id=pk, now=now) for pk in due.values_list("pk", flat=True).distinct()]
    return [window for window in missed if window is not None]


@transaction.atomic
def window_mark_missed(*, window_id: int, now: datetime) -> PickupWindow | None:
    """Mark one window missed and put its scheduled orders back to ready.

    Orders that another transaction holds (a cancellation, say) are skipped rather than waited
    for: a cancellation locks the order and then the window, so waiting here, window first,
    could deadlock. A skipped order is picked up by the next sweep if it is still scheduled.
    """
    window = PickupWindow.objects.select_for_update().select_related("site").get(pk=window_id)
    no_show = window.status == PickupWindow.Status.ACCEPTED and window.ends_at <= now
    nobody = window.status in OPEN_FOR_ORDERS and window.starts_at <= now and window.booked_packages
    if not (no_show or nobody or window.status == PickupWindow.Status.MISSED):
        return None
    orders = list(
        Order.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(pickup_window=window, status=Order.Status.SCHEDULED)
        .select_related("store", "merchant")
        .order_by("pk")
    )
    why = "No driver accepted the pickup." if nobody else "The driver did not arrive." if no_show else "Pickup missed."
    if window.status != PickupWindow.Status.MISSED:
        window_move(window, to=PickupWindow.Status.MISSED, actor=SYSTEM, at=now, reason=why)
    details = {"window": window.pk, "reason": why}
    windows_release_capacity(order_ids=[order.pk for order in orders])
    events = [
        order_move(
            order, to=Order.Status.READY, actor=SYSTEM, at=now, event_type="order.pickup_missed", details=details
        )
        for order in orders
    ]
    orders_save(orders, events)
    _tell_merchants(orders, window, why)
    if orders:
        assignment_ask(orders)
    return window


def _tell_merchants(orders: list[Order], window: PickupWindow, why: str) -> None:
    by_merchant: dict[int, list[Order]] = {}
    for order in orders:
        by_merchant.setdefault(order.merchant_id, []).append(order)
    owners = Membership.objects.filter(merchant_id__in=by_merchant, role=Membership.Role.OWNER).select_related("user")
    for owner in owners:
        notification_email(
            to=[owner.user.email],
            template="pickup_missed",
            context={"orders": by_merchant[owner.merchant_id], "window": window, "why": why},
        )


@transaction.atomic
def windows_at_risk(*, now: datetime) -> list[PickupWindow]:
    """Windows with parcels and no driver this close to their start: flag them and alert admins once.

    The flag is set by a conditional UPDATE in the same transaction as the alert, so two runs at
    once alert once, and a failed run alerts on the next."""
    candidates = PickupWindow.objects.filter(
        status__in=OPEN_FOR_ORDERS,
        booked_packages__gt=0,
        at_risk=False,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(minutes=settings.AT_RISK_MINUTES),
    ).select_related("site")
    flagged = [
        window for window in candidates if PickupWindow.objects.filter(pk=window.pk, at_risk=False).update(at_risk=True)
    ]
    for window in flagged:
        notification_email(to=program_admin_emails(), template="window_at_risk", context={"window": window})
    return flagged
