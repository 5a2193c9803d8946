"""Pickup windows: planning them per site, putting ready orders into them, and missed pickups.

The rules of time live in `scheduling` (pure functions); this module reads and writes rows in
bulk, a few queries per site whatever the number of orders, and settles races with row locks.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Prefetch
from django.utils import timezone

from common.actors import SYSTEM
from common.tasks import enqueue_on_commit
from merchants.models import Membership, Site, Store
from merchants.services import program_admin_emails
from merchants.standing import PICKUP, merchant_refusal
from notifications.services import notification_email

from . import scheduling
from .customer_messages import customers_tell
from .ledger import order_move, orders_save
from .models import Order, Package, PickupWindow
from .window_states import window_move, windows_move, windows_release_capacity, windows_save_bookings

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
    scheduled: list[Order] = field(default_factory=list)
    unscheduled: list[Order] = field(default_factory=list)
    newly_unscheduled: list[Order] = field(default_factory=list)  # their reason is new: saved and alerted

    def add(self, other: "Assignment") -> None:
        self.scheduled += other.scheduled
        self.unscheduled += other.unscheduled
        self.newly_unscheduled += other.newly_unscheduled


# Sites handled per transaction: bounds how long rows stay locked and how much a run holds in memory.
SITES_PER_BATCH = 50


def orders_assign(*, order_ids: list[int] | None = None, now: datetime | None = None) -> Assignment:
    """Put ready orders into the earliest window at their site that keeps their promise.

    A window qualifies if it starts after now + PICKUP_LEAD_MINUTES, the order's store is open
    throughout it, it has room for all the order's packages, and it falls within the days the
    service level allows. Sites are handled in batches, in site order, one transaction each:
    their ready orders are locked (SKIP LOCKED: another worker's are left to it) and their
    windows locked, so concurrent workers never book a window over capacity or an order twice,
    and the queries grow with sites and windows used, not with orders. Orders of a merchant that
    may not have orders picked up (not approved) wait, saying why, until it is approved again.
    """
    now = now or timezone.now()
    ready = Order.objects.filter(status=Order.Status.READY)
    if order_ids is not None:
        ready = ready.filter(pk__in=order_ids)
    site_ids = sorted(set(ready.values_list("store__site_id", flat=True)))
    result = Assignment()
    for start in range(0, len(site_ids), SITES_PER_BATCH):
        batch = site_ids[start : start + SITES_PER_BATCH]
        result.add(_assign_sites(ready.filter(store__site_id__in=batch), now))
    return result


@transaction.atomic
def _assign_sites(ready, now: datetime) -> Assignment:
    orders = _hold_for_standing(
        list(
            ready.select_for_update(skip_locked=True, of=("self",))
            .select_related("quote", "merchant")
            .order_by("ready_at", "pk")
        )
    )
    sizes = dict(
        Package.objects.filter(order__in=[order.pk for order in orders])
        .values("order")
        .annotate(count=Count("pk"))
        .values_list("order", "count")
    )
    stores = {
        store.pk: store
        for store in Store.objects.filter(pk__in={order.store_id for order in orders})
        .select_related("site")
        .prefetch_related("opening_hours", "closures")
    }
    calendars = {pk: calendar_of(store) for pk, store in stores.items()}
    by_site: dict[int, list[Order]] = {}
    for order in orders:
        order.store = stores[order.store_id]
        by_site.setdefault(order.store.site_id, []).append(order)
    result, events, changed_windows = Assignment(), [], {}
    for site_id in sorted(by_site):  # windows are locked site by site, always in the same order
        _assign_site(by_site[site_id], calendars, sizes, now, result, events, changed_windows)
    windows_save_bookings(changed_windows.values())
    orders_save(result.scheduled, events)
    _save_reasons(result.newly_unscheduled)
    customers_tell(orders=result.scheduled, what="scheduled")
    return result


def _assign_site(orders, calendars, sizes, now, result, events, changed_windows):
    site = orders[0].store.site
    today = scheduling.local_date(now, site.timezone)
    promises = {order.pk: _promise(order, calendars[order.store_id], now, today) for order in orders}
    last_day = max((p.last_day for p in promises.values() if p.last_day), default=None)
    # Locked in id order, as every other writer of windows locks them, then taken in time order.
    locked = list(windows_open_to_orders(site, now, last_day).order_by("pk").select_for_update()) if last_day else []
    windows = sorted(locked, key=lambda window: (window.starts_at, window.pk))
    fitting = {}  # the windows that keep a promise at a store, worked out once per store and promise
    for order in orders:
        promise, size = promises[order.pk], sizes.get(order.pk, 0)
        key = (order.store_id, promise)
        if key not in fitting:
            fitting[key] = fitting_windows(
                windows, store=order.store, calendar=calendars[order.store_id], promise=promise
            )
        window = pick_window(fitting[key], size=size, preferred=order.quote.window_id if order.quote_id else None)
        if window is None:
            _leave_ready(order, _why_not(order.store, promise, fitting[key]), result)
            continue
        window.booked_packages += size
        changed_windows[window.pk] = window
        order.pickup_window, order.not_scheduled_reason = window, ""
        order.promised_date = scheduling.promised_delivery_day(pickup_ends_at=window.ends_at, customer_tz=site.timezone)
        details = {"window": window.pk, "starts_at": window.starts_at.isoformat(), "site": site.name}
        events.append(order_move(order, to=Order.Status.SCHEDULED, actor=SYSTEM, at=now, details=details))
        result.scheduled.append(order)


def _promise(order: Order, calendar, now: datetime, today):
    """The order's promise, from when it was made ready; once that day has passed without a window
    (all were full), the order is late and goes out as soon as it can, as if made ready now."""
    promise = promise_for(order.store, calendar, order.service_level, order.ready_at)
    if promise.last_day is not None and promise.last_day < today:
        return promise_for(order.store, calendar, order.service_level, now)
    return promise


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
    return PickupWindow.objects.filter(
        site=site,
        status__in=OPEN_FOR_ORDERS,
        starts_at__gt=now + timedelta(minutes=settings.PICKUP_LEAD_MINUTES),
        local_date__lte=last_day,
    ).order_by("starts_at", "pk")


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
    roomy = [window for window in fits if window.free_packages >= size]
    return next((window for window in roomy if window.pk == preferred), roomy[0] if roomy else None)


def _slot(window: PickupWindow) -> scheduling.Slot:
    return scheduling.Slot(window.starts_at, window.ends_at, window.local_date)


def _why_not(store: Store, promise, fits) -> str:
    if promise.last_day is None:
        return promise.reason
    day = f"{promise.last_day:%A, %B} {promise.last_day.day}"
    if fits:
        return f"Every pickup window at {store.site.name} until {day} is full."
    return f"No pickup window at {store.site.name} while {store.name} is open, until {day}."


def _hold_for_standing(orders: list[Order]) -> list[Order]:
    """The orders whose merchant may have them picked up; the others keep waiting, and say why (one
    UPDATE per reason, only where it changed; no alert: the admins suspended the merchant themselves)."""
    held: dict[str, list[int]] = {}
    going = []
    for order in orders:
        why = merchant_refusal(order.merchant, PICKUP)[:300]
        if not why:
            going.append(order)
        elif order.not_scheduled_reason != why:
            held.setdefault(why, []).append(order.pk)
    for why, ids in held.items():
        Order.objects.filter(pk__in=ids).update(not_scheduled_reason=why)
    return going


def _leave_ready(order: Order, reason: str, result: Assignment) -> None:
    """Keep the order ready and say why; a new reason is saved and reported to the admins."""
    if order.not_scheduled_reason != reason:
        order.not_scheduled_reason = reason
        result.newly_unscheduled.append(order)
    result.unscheduled.append(order)


def _save_reasons(orders: list[Order]) -> None:
    """One UPDATE per distinct reason, and one email to the admins listing the orders."""
    if orders:
        notification_email(to=program_admin_emails(), template="order_not_scheduled", context={"orders": orders})
    by_reason: dict[str, list[int]] = {}
    for order in orders:
        by_reason.setdefault(order.not_scheduled_reason, []).append(order.pk)
    for reason, ids in by_reason.items():
        Order.objects.filter(pk__in=ids).update(not_scheduled_reason=reason)


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
        enqueue_on_commit("pickups.tasks.assign_orders", order_ids=[order.pk for order in orders])
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
