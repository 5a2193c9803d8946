"""Offering pickup windows to drivers, and their answers: the first valid accept wins."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common.actors import Actor
from common.distance import miles_between
from common.errors import TransitionError
from merchants.services import program_admin_emails
from notifications.models import Notification
from notifications.services import notification_email, notify
from pickups.models import Order, PickupWindow
from pickups.services import order_move, orders_note, orders_save

from .models import Driver, Offer

BUSY = [PickupWindow.Status.ACCEPTED, PickupWindow.Status.IN_PROGRESS]
OFFERABLE = [PickupWindow.Status.OPEN, PickupWindow.Status.OFFERED]


def windows_to_offer(*, now: datetime) -> list[int]:
    """Windows with parcels, no driver, whose offer time has come and whose next wave is due."""
    return list(
        PickupWindow.objects.filter(
            status__in=OFFERABLE,
            booked_packages__gt=0,
            starts_at__gt=now,
            starts_at__lte=now + timedelta(minutes=settings.OFFER_LEAD_MINUTES),
        )
        .filter(Q(next_wave_at__isnull=True) | Q(next_wave_at__lte=now))
        .values_list("pk", flat=True)
    )


@transaction.atomic
def window_offer_wave(*, window_id: int, now: datetime) -> list[Offer]:
    """Offer the window to the next drivers, nearest first, each wave reaching farther.

    Eligible: active, the site within both the wave's radius and the driver's own limit, room
    for every package, no accepted window overlapping this one, not offered this window before.
    """
    window = PickupWindow.objects.select_for_update().select_related("site").get(pk=window_id)
    if window.status not in OFFERABLE or window.driver_id or not window.booked_packages or window.starts_at <= now:
        return []
    if window.next_wave_at is not None and window.next_wave_at > now:
        return []  # another run sent this wave already
    wave = window.offer_wave + 1
    radii = settings.OFFER_WAVE_RADII_MILES
    radius = radii[min(wave, len(radii)) - 1]
    drivers = _eligible_drivers(window, radius)[: settings.OFFER_WAVE_SIZE]
    expires = min(now + timedelta(minutes=settings.OFFER_EXPIRY_MINUTES), window.starts_at)
    offers = Offer.objects.bulk_create(
        Offer(window=window, driver=driver, wave=wave, distance_miles=miles, offered_at=now, expires_at=expires)
        for driver, miles in drivers
    )
    window.status = PickupWindow.Status.OFFERED
    window.offer_wave = wave
    window.next_wave_at = now + timedelta(minutes=settings.OFFER_WAVE_MINUTES)
    window.save(update_fields=["status", "offer_wave", "next_wave_at"])
    for offer in offers:
        _tell_driver(offer.driver, "offer_new", {"offer": offer, "window": window})
    return offers


def _eligible_drivers(window: PickupWindow, radius: float) -> list[tuple[Driver, Decimal]]:
    busy = PickupWindow.objects.filter(
        status__in=BUSY, starts_at__lt=window.ends_at, ends_at__gt=window.starts_at
    ).values("driver_id")
    candidates = (
        Driver.objects.filter(status=Driver.Status.ACTIVE, capacity_packages__gte=window.booked_packages)
        .exclude(pk__in=busy)
        .exclude(offers__window=window)
        .select_related("user")
    )
    site = window.site
    near = []
    for driver in candidates:
        miles = miles_between(driver.home_latitude, driver.home_longitude, site.latitude, site.longitude)
        if miles <= min(radius, float(driver.max_distance_miles)):
            near.append((driver, Decimal(miles).quantize(Decimal("0.1"))))
    return sorted(near, key=lambda pair: (pair[1], pair[0].pk))


def _tell_driver(driver: Driver, template: str, context: dict) -> None:
    """An in-app message always; a text message too."""
    context = {"driver": driver, **context}
    notify(
        channel=Notification.Channel.IN_APP,
        to=[driver.user.username],
        template=template,
        context=context,
        user=driver.user,
    )
    notify(channel=Notification.Channel.SMS, to=[driver.phone], template=template, context=context, user=driver.user)


@dataclass(frozen=True)
class AcceptResult:
    offer: Offer
    withdrawn: int


@transaction.atomic
def offer_accept(*, offer: Offer, driver: Driver, now: datetime | None = None) -> AcceptResult:
    """Take the window. The database decides between drivers who accept at once: the window row
    is claimed with a conditional UPDATE that only one of them can win; the others get TransitionError."""
    now = now or timezone.now()
    Driver.objects.select_for_update().get(pk=driver.pk)  # one accept at a time per driver
    offer = Offer.objects.select_related("window__site").get(pk=offer.pk, driver=driver)
    window = offer.window
    if offer.status != Offer.Status.OPEN:
        raise TransitionError(f"This offer is {offer.get_status_display().lower()}; it can no longer be accepted.")
    if offer.expires_at <= now:
        raise TransitionError("This offer has expired.")
    overlapping = PickupWindow.objects.filter(
        driver=driver, status__in=BUSY, starts_at__lt=window.ends_at, ends_at__gt=window.starts_at
    )
    if overlapping.exists():
        raise TransitionError("You already have a pickup at that time.")
    claimed = PickupWindow.objects.filter(
        pk=window.pk,
        driver__isnull=True,
        status__in=OFFERABLE,
        starts_at__gt=now,
        booked_packages__lte=driver.capacity_packages,
    ).update(status=PickupWindow.Status.ACCEPTED, driver=driver, accepted_at=now, at_risk=False)
    if not claimed:
        raise TransitionError("Already taken: another driver accepted this pickup first.")
    Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.ACCEPTED, responded_at=now)
    others = list(
        Offer.objects.filter(window=window, status=Offer.Status.OPEN)
        .exclude(pk=offer.pk)
        .select_related("driver__user")
    )
    Offer.objects.filter(pk__in=[other.pk for other in others]).update(status=Offer.Status.WITHDRAWN, responded_at=now)
    for other in others:
        _tell_driver(other.driver, "offer_withdrawn", {"window": window})
    orders_note(
        window=window,
        type="order.driver_assigned",
        actor=Actor.of_user(driver.user),
        at=now,
        details={"window": window.pk, "driver": driver.first_name, "vehicle": driver.get_vehicle_type_display()},
    )
    offer.refresh_from_db()
    return AcceptResult(offer=offer, withdrawn=len(others))


@transaction.atomic
def offer_decline(*, offer: Offer, driver: Driver, now: datetime | None = None) -> Offer:
    now = now or timezone.now()
    declined = Offer.objects.filter(pk=offer.pk, driver=driver, status=Offer.Status.OPEN).update(
        status=Offer.Status.DECLINED, responded_at=now
    )
    if not declined:
        raise TransitionError("This offer is no longer open.")
    _next_wave_now_if_unanswered(offer.window_id, now)
    offer.refresh_from_db()
    return offer


def offers_expire(*, now: datetime) -> int:
    """Open offers past their time become expired; their windows get the next wave at once."""
    expired = Offer.objects.filter(status=Offer.Status.OPEN, expires_at__lte=now)
    window_ids = set(expired.values_list("window_id", flat=True))
    count = expired.update(status=Offer.Status.EXPIRED)
    for window_id in window_ids:
        _next_wave_now_if_unanswered(window_id, now)
    return count


def _next_wave_now_if_unanswered(window_id: int, now: datetime) -> None:
    if not Offer.objects.filter(window_id=window_id, status=Offer.Status.OPEN).exists():
        PickupWindow.objects.filter(pk=window_id, status__in=OFFERABLE).update(next_wave_at=now)


@transaction.atomic
def windows_at_risk(*, now: datetime) -> list[PickupWindow]:
    """Windows with parcels and no driver this close to their start: flag them and alert admins once.

    The flag is set by a conditional UPDATE in the same transaction as the alert, so two runs at
    once alert once, and a failed run alerts on the next."""
    candidates = PickupWindow.objects.filter(
        status__in=OFFERABLE,
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


@transaction.atomic
def window_arrive(*, window: PickupWindow, driver: Driver, location: tuple | None = None) -> PickupWindow:
    """The driver is at the site: the window is in progress and no longer at risk of a no-show."""
    now = timezone.now()
    arrived = PickupWindow.objects.filter(pk=window.pk, driver=driver, status=PickupWindow.Status.ACCEPTED).update(
        status=PickupWindow.Status.IN_PROGRESS, arrived_at=now
    )
    if not arrived:
        raise TransitionError("You can check in only at a pickup you accepted and have not started.")
    orders_note(
        window=window,
        type="order.driver_arrived",
        actor=Actor.of_user(driver.user),
        at=now,
        details={"window": window.pk},
        location=location,
    )
    window.refresh_from_db()
    return window


@dataclass(frozen=True)
class PickupResult:
    picked_up: list  # orders now picked up
    incomplete: dict  # tracking code -> label codes still to scan
    completed: bool  # nothing is left to collect: the window is done


@transaction.atomic
def window_pickup(
    *, window: PickupWindow, driver: Driver, label_codes: list[str], location: tuple | None = None
) -> PickupResult:
    """The merchant hands parcels to the driver, proven by scanning each package's label.

    An order is picked up once every one of its labels is scanned (a partly scanned order stays
    with the store); when none is left to collect, the window is completed. A label that is not
    in this pickup is refused, nothing moved.
    """
    # Orders before their window, as a cancellation locks them, so the two never deadlock.
    orders = list(
        Order.objects.select_for_update(of=("self",))
        .filter(pickup_window=window, status=Order.Status.SCHEDULED)
        .prefetch_related("packages")
        .order_by("pk")
    )
    window = PickupWindow.objects.select_for_update().get(pk=window.pk)
    if window.driver_id != driver.pk or window.status != PickupWindow.Status.IN_PROGRESS:
        raise TransitionError("Check in at the site before you collect parcels.")
    scanned = {code.strip().upper() for code in label_codes if code.strip()}
    known = {package.label_code for order in orders for package in order.packages.all()}
    if unknown := sorted(scanned - known):
        raise ValidationError({"label_codes": [f"Not in this pickup: {', '.join(unknown)}."]})
    complete = [order for order in orders if {p.label_code for p in order.packages.all()} <= scanned]
    incomplete = {
        order.tracking_code: sorted({p.label_code for p in order.packages.all()} - scanned)
        for order in orders
        if order not in complete and scanned & {p.label_code for p in order.packages.all()}
    }
    now = timezone.now()
    actor = Actor.of_user(driver.user)
    events = [
        order_move(
            order,
            to=Order.Status.PICKED_UP,
            actor=actor,
            at=now,
            location=location,
            details={"window": window.pk, "labels": sorted(p.label_code for p in order.packages.all())},
        )
        for order in complete
    ]
    orders_save(complete, events)
    completed = len(complete) == len(orders)
    if completed:
        window.status, window.completed_at = PickupWindow.Status.COMPLETED, now
        window.save(update_fields=["status", "completed_at"])
    return PickupResult(picked_up=complete, incomplete=incomplete, completed=completed)
