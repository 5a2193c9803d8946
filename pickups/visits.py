"""A pickup window from the driver's side: taken, given back, the visit at the counters, the departure.

Drivers' code (`deliveries`) calls these; they are the only writers of a window's driver and
visit, and every status change goes through `window_states.window_move`. A visit's rules:
check in from ARRIVE_EARLY_MINUTES before the start and near the site; collect each package by
scanning its label after entering the store's code; leave, and what was not collected goes back
to its store's ready orders (a sweep ends visits nobody ended, DEPART_GRACE_MINUTES after the end).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import formats, timezone

from common.actors import SYSTEM, Actor
from common.distance import miles_between
from common.errors import TransitionError
from merchants.handoff_codes import store_code_check
from merchants.models import Membership, Store
from notifications.models import Notification
from notifications.services import notification_email, notify

from .counter_scans import Outcomes, Scan, labels_of, orders_complete, scan_labels
from .ledger import assignment_ask, order_move, orders_note, orders_save
from .models import Order, OrderEvent, Package, PickupWindow
from .window_states import check_window_move, window_move, windows_release_capacity

Status = PickupWindow.Status
OFFERABLE = [Status.OPEN, Status.OFFERED]
BUSY = [Status.ACCEPTED, Status.IN_PROGRESS]  # taken by a driver


@dataclass(frozen=True)
class DriverCard:
    """What merchants may see of a driver, copied onto the window when they accept it."""

    id: int
    first_name: str
    vehicle: str  # e.g. "Silver sedan (Car)"
    capacity_packages: int


def window_offers_sent(*, window: PickupWindow, wave: int, now: datetime) -> None:
    """A wave of offers went out for the (locked) window; the next is due OFFER_WAVE_MINUTES later."""
    changes = {"offer_wave": wave, "next_wave_at": now + timedelta(minutes=settings.OFFER_WAVE_MINUTES)}
    if window.status == Status.OPEN:
        window_move(window, to=Status.OFFERED, actor=SYSTEM, at=now, details={"wave": wave}, **changes)
    else:
        PickupWindow.objects.filter(pk=window.pk).update(**changes)


def window_next_wave_now(*, window_id: int, now: datetime) -> None:
    """Nobody has an open offer any more (all declined or expired): the next wave need not wait."""
    PickupWindow.objects.filter(pk=window_id, status__in=OFFERABLE).update(next_wave_at=now)


@transaction.atomic
def window_accept(*, window_id: int, driver: DriverCard, actor: Actor, now: datetime) -> PickupWindow:
    """Give the window to the driver. The window row is locked, so of drivers accepting at once the
    first wins and the others find it taken (TransitionError). Only the window is locked and written
    (its move and event): the others queue on that lock, so the ledger notes on its orders are left
    to `window_note_driver` after commit."""
    window = PickupWindow.objects.select_for_update().get(pk=window_id)
    if window.driver_id is not None:
        raise TransitionError("Already taken: another driver accepted this pickup first.")
    if window.starts_at <= now:
        raise TransitionError("This pickup has started; it can no longer be accepted.")
    if window.booked_packages > driver.capacity_packages:
        raise TransitionError(f"This pickup has {window.booked_packages} packages, more than your car takes.")
    window_move(
        window,
        to=Status.ACCEPTED,
        actor=actor,
        at=now,
        details={"driver": driver.first_name},
        driver_id=driver.id,
        driver_name=driver.first_name,
        driver_vehicle=driver.vehicle,
        at_risk=False,
    )
    return window


@transaction.atomic
def window_note_driver(*, window_id: int) -> int:
    """After an accept commits: note the driver in the ledger of each order of the window not noted
    since the accept (one INSERT for all). Safe to run again; returns how many orders were noted."""
    window, orders = _locked(window_id)
    if window.status not in BUSY:
        return 0  # given back (or missed) meanwhile: its orders have no driver to note
    actor = Actor.of_driver(window.driver.user)  # whoever holds it now, should it have changed hands
    noted = set(
        OrderEvent.objects.filter(
            order__in=orders, type="order.driver_assigned", occurred_at__gte=window.accepted_at
        ).values_list("order_id", flat=True)
    )
    details = {"window": window.pk, "driver": window.driver_name, "vehicle": window.driver_vehicle}
    unnoted = [order for order in orders if order.pk not in noted]
    return orders_note(
        orders=unnoted, type="order.driver_assigned", actor=actor, at=window.accepted_at, details=details
    )


def windows_driver_unnoted() -> list[int]:
    """Taken windows with an order the driver was not noted on (the task after the accept was lost)."""
    noted = OrderEvent.objects.filter(
        order=OuterRef("pk"), type="order.driver_assigned", occurred_at__gte=OuterRef("pickup_window__accepted_at")
    )
    return list(
        Order.objects.filter(status=Order.Status.SCHEDULED, pickup_window__status__in=BUSY)
        .exclude(Exists(noted))
        .values_list("pickup_window_id", flat=True)
        .distinct()
    )


@transaction.atomic
def window_release(*, window_id: int, driver_id: int, actor: Actor, now: datetime, reason: str = "") -> PickupWindow:
    """The driver gives an accepted pickup back before arriving: it is offered again at once."""
    window, orders = _locked(window_id, driver_id)
    window_move(
        window,
        to=Status.OFFERED,
        actor=actor,
        at=now,
        reason=reason or "The driver gave the pickup back.",
        driver_id=None,
        driver_name="",
        driver_vehicle="",
        next_wave_at=now,
    )
    orders_note(orders=orders, type="order.driver_released", actor=actor, at=now, details={})
    return window


@transaction.atomic
def window_arrive(
    *, window_id: int, driver_id: int, actor: Actor, now: datetime, location: tuple | None = None
) -> PickupWindow:
    """The driver checks in at the site: from ARRIVE_EARLY_MINUTES before the start, and if they
    send where they are, within ARRIVE_RADIUS_MILES of it. Each store with parcels is told."""
    window, orders = _locked(window_id, driver_id, Order.objects.select_related("store").prefetch_related("packages"))
    check_window_move(window, Status.IN_PROGRESS)
    opens = window.starts_at - timedelta(minutes=settings.ARRIVE_EARLY_MINUTES)
    if now < opens:
        local = timezone.localtime(opens, ZoneInfo(window.site.timezone))
        raise TransitionError(f"Too early: you can check in from {formats.time_format(local, 'g:i A T')}.")
    if location is not None:
        miles = miles_between(*location, window.site.latitude, window.site.longitude)
        if miles > settings.ARRIVE_RADIUS_MILES:
            raise ValidationError(
                {
                    "location": f"You are {miles:.1f} miles from {window.site.name}; check in when you are within "
                    f"{settings.ARRIVE_RADIUS_MILES:g} miles of it."
                }
            )
    window_move(window, to=Status.IN_PROGRESS, actor=actor, at=now, details={"location": _plain(location)})
    orders_note(
        orders=orders,
        type="order.driver_arrived",
        actor=actor,
        at=now,
        details={"window": window.pk},
        location=location,
    )
    _tell_stores_driver_arrived(window, orders)
    return window


# What a driver hears for each label scanned at a counter to collect it.
PICKUP_OUTCOMES = Outcomes(
    scanned=("collected", "Collected."),
    again=("already_collected", "Already collected."),
    other_store=("other_store", "This parcel belongs to another store in this pickup."),
    elsewhere=("not_in_this_window", "Not part of this pickup: leave it at the store."),
)


@dataclass
class CollectResult:
    scans: list[Scan]
    picked_up: list[Order]
    window: PickupWindow
    progress: dict[int, tuple[int, int]] = field(default_factory=dict)  # store id -> (collected, packages)


@transaction.atomic
def window_collect(
    *,
    window_id: int,
    driver_id: int,
    store_id: int,
    store_code: str,
    label_codes: list[str],
    actor: Actor,
    now: datetime,
    location: tuple | None = None,
) -> CollectResult:
    """The store hands parcels to the driver, proven by the store's code and each label's scan.

    Scans are remembered per package, so a driver can scan some labels now and the rest later;
    an order is picked up once all its packages are collected, and the window is completed when
    nothing is left to collect. A wrong or expired store code records nothing.
    """
    window, _ = _locked(window_id, driver_id)
    if window.status != Status.IN_PROGRESS:
        raise TransitionError(
            "Check in at the site before you collect parcels."
            if window.status == Status.ACCEPTED
            else "This pickup is finished; nothing more can be collected."
        )
    packages = list(Package.objects.filter(order__pickup_window=window).select_related("order"))
    store = _store_in_window(store_id, packages)
    store_code_check(store, store_code, at=now, scope=f"window:{window.pk}")

    scans, collected = scan_labels(
        label_codes,
        packages=packages,
        store_id=store.pk,
        from_status=Order.Status.SCHEDULED,
        stamp="collected_at",
        at=now,
        outcomes=PICKUP_OUTCOMES,
    )
    picked_up = orders_complete(packages, collected, "collected_at")
    details = {"window": window.pk, "store": store.name, "driver": window.driver_name}
    orders_save(
        picked_up,
        [
            order_move(
                order,
                to=Order.Status.PICKED_UP,
                actor=actor,
                at=now,
                location=location,
                details=details | {"labels": labels_of(order.pk, packages)},
            )
            for order in picked_up
        ],
    )
    if all(package.collected_at or package.order.status != Order.Status.SCHEDULED for package in packages):
        _visit_over(window, actor=actor, now=now, reason="Every parcel was collected.")
    return CollectResult(scans=scans, picked_up=picked_up, window=window, progress=collection_progress(packages))


def collection_progress(packages: list[Package]) -> dict[int, tuple[int, int]]:
    """For each store: (packages collected, packages in the window), from loaded packages and orders."""
    progress: dict[int, tuple[int, int]] = {}
    for package in packages:
        done, total = progress.get(package.order.store_id, (0, 0))
        progress[package.order.store_id] = (done + bool(package.collected_at), total + 1)
    return progress


@dataclass(frozen=True)
class DepartResult:
    window: PickupWindow
    left_behind: list[Order]  # back to ready at their store
    hand_back: dict[str, list[str]]  # store name -> labels the driver holds of orders left behind


@transaction.atomic
def window_depart(
    *, window_id: int, driver_id: int | None, actor: Actor, now: datetime, reason: str = ""
) -> DepartResult:
    """End the visit. Orders not wholly collected are left behind: their scans are undone (parcels
    of them already in the car go back over the counter), they are ready again with a ledger
    event, their stores are told, and they go into the next window. The window completes."""
    window, orders = _locked(
        window_id, driver_id, Order.objects.select_related("store", "merchant").prefetch_related("packages")
    )
    check_window_move(window, Status.COMPLETED)
    reason = reason or "The driver left."
    hand_back: dict[str, list[str]] = {}
    events = []
    for order in orders:
        labels = [package.label_code for package in order.packages.all()]
        held = [package.label_code for package in order.packages.all() if package.collected_at]
        if held:
            hand_back.setdefault(order.store.name, []).extend(held)
        details = {"window": window.pk, "store": order.store.name, "left": labels, "handed_back": held}
        details["reason"] = reason
        events.append(
            order_move(
                order, to=Order.Status.READY, actor=actor, at=now, event_type="order.left_behind", details=details
            )
        )
    windows_release_capacity(order_ids=[order.pk for order in orders])
    orders_save(orders, events)
    _visit_over(window, actor=actor, now=now, reason=reason, details={"left_behind": len(orders)})
    if orders:
        _tell_stores_left_behind(window, orders)
        assignment_ask(orders)
    return DepartResult(window=window, left_behind=orders, hand_back=hand_back)


def windows_depart_overdue(*, now: datetime) -> list[DepartResult]:
    """End the visits nobody ended, DEPART_GRACE_MINUTES after their window's end, as a departure."""
    grace = timedelta(minutes=settings.DEPART_GRACE_MINUTES)
    overdue = PickupWindow.objects.filter(status=Status.IN_PROGRESS, ends_at__lte=now - grace)
    reason = f"Nobody ended the visit; closed {settings.DEPART_GRACE_MINUTES} minutes after the window."
    return [
        window_depart(window_id=pk, driver_id=None, actor=SYSTEM, now=now, reason=reason)
        for pk in overdue.values_list("pk", flat=True)
    ]


def _visit_over(window: PickupWindow, *, actor: Actor, now: datetime, reason: str, details: dict | None = None) -> None:
    """The window is done; what the driver collected is out for delivery (deliveries tells the customers)."""
    window_move(window, to=Status.COMPLETED, actor=actor, at=now, reason=reason, details=details)


def _locked(window_id: int, driver_id: int | None = None, orders=None) -> tuple[PickupWindow, list[Order]]:
    """Lock the window's scheduled orders, then the window: the order a cancellation takes them in
    (its order, then its window), so the two never deadlock. With `driver_id`, the window must still
    be that driver's (they may have given it back meanwhile); `orders` adds what to load with them."""
    scheduled = list(
        (orders if orders is not None else Order.objects)
        .select_for_update(of=("self",))
        .filter(pickup_window_id=window_id, status=Order.Status.SCHEDULED)
        .order_by("pk")
    )
    window = PickupWindow.objects.select_for_update().select_related("site").get(pk=window_id)
    if driver_id is not None and window.driver_id != driver_id:
        raise TransitionError("This pickup is no longer yours.")
    # An order scheduled into the window between the two locks (its assignment held the window) is
    # taken too; one another transaction holds now (a cancellation) is left to it rather than waited for.
    late = (
        (orders if orders is not None else Order.objects)
        .select_for_update(of=("self",), skip_locked=True)
        .filter(pickup_window_id=window_id, status=Order.Status.SCHEDULED)
        .exclude(pk__in=[order.pk for order in scheduled])
        .order_by("pk")
    )
    return window, [*scheduled, *late]


def _store_in_window(store_id: int, packages: list[Package]) -> Store:
    stores = {package.order.store_id for package in packages}
    if store_id not in stores:
        raise ValidationError({"store": "This pickup has no parcels at that store."})
    return Store.objects.get(pk=store_id)


def _tell_stores_driver_arrived(window: PickupWindow, orders: list[Order]) -> None:
    for store, packages in _packages_by_store(orders).items():
        context = {"window": window, "store": store, "packages": packages}
        notify(
            channel=Notification.Channel.IN_APP, to=[store.notice_recipient], template="driver_arrived", context=context
        )
        if store.text_on_arrival and store.phone:
            notify(channel=Notification.Channel.SMS, to=[store.phone], template="driver_arrived", context=context)


def _tell_stores_left_behind(window: PickupWindow, orders: list[Order]) -> None:
    by_store: dict[Store, list[Order]] = {}
    for order in orders:
        by_store.setdefault(order.store, []).append(order)
    owners = {
        member.merchant_id: member.user.email
        for member in Membership.objects.filter(
            merchant_id__in={order.merchant_id for order in orders}, role=Membership.Role.OWNER
        ).select_related("user")
    }
    for store, left in by_store.items():
        context = {"window": window, "store": store, "orders": left}
        notify(
            channel=Notification.Channel.IN_APP, to=[store.notice_recipient], template="left_behind", context=context
        )
        if store.merchant_id in owners:
            notification_email(to=[owners[store.merchant_id]], template="left_behind", context=context)


def _packages_by_store(orders: list[Order]) -> dict[Store, int]:
    counts: dict[Store, int] = {}
    for order in orders:
        counts[order.store] = counts.get(order.store, 0) + len(order.packages.all())
    return counts


def _plain(location: tuple | None) -> list[str] | None:
    return [str(value) for value in location] if location else None
