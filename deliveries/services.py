"""Offering pickup windows to drivers, and their answers: the first valid accept wins.

The offer has its own table of moves; the window's moves belong to `pickups` (`visits`), which
this module calls and never bypasses.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from common.actors import Actor
from common.distance import miles_between
from common.errors import TransitionError
from common.tasks import enqueue_on_commit
from notifications.models import Notification
from notifications.services import notify, notify_each
from pickups.models import PickupWindow
from pickups.visits import (
    CollectResult,
    DepartResult,
    DriverCard,
    window_accept,
    window_collect,
    window_depart,
    window_next_wave_now,
    window_note_driver,
    window_offers_sent,
    window_release,
    windows_driver_unnoted,
)

from .models import Driver, Offer
from .runs import run_announce_soon

BUSY = [PickupWindow.Status.ACCEPTED, PickupWindow.Status.IN_PROGRESS]
OFFERABLE = [PickupWindow.Status.OPEN, PickupWindow.Status.OFFERED]

# The only moves an offer may make: the driver answers, time runs out, another driver wins the
# window (withdrawn; open again if that driver gives it back), or the driver who won it gives it back
# (released). A program admin may make an expired or declined offer again, to a driver who agreed by
# phone (deliveries.dispatch).
OFFER_TRANSITIONS = {
    Offer.Status.OPEN: {Offer.Status.ACCEPTED, Offer.Status.DECLINED, Offer.Status.EXPIRED, Offer.Status.WITHDRAWN},
    Offer.Status.ACCEPTED: {Offer.Status.RELEASED},
    Offer.Status.DECLINED: {Offer.Status.OPEN},
    Offer.Status.EXPIRED: {Offer.Status.OPEN},
    Offer.Status.WITHDRAWN: {Offer.Status.OPEN},  # offered again: the driver who won gave it back
    Offer.Status.RELEASED: set(),
}
ANSWERS = {Offer.Status.ACCEPTED, Offer.Status.DECLINED, Offer.Status.RELEASED}


def offers_move(offers: QuerySet[Offer], *, to: str, at: datetime) -> int:
    """Move the offers the table allows to `to` in one conditional UPDATE; returns how many moved.

    The condition on the current status settles races: of two moves at once, one finds it gone."""
    sources = [status for status, targets in OFFER_TRANSITIONS.items() if to in targets]
    changes = {"status": to, "responded_at": at} if to in ANSWERS else {"status": to}
    return offers.filter(status__in=sources).update(**changes)


def offer_move(offer: Offer, *, to: str, at: datetime) -> Offer:
    if not offers_move(Offer.objects.filter(pk=offer.pk), to=to, at=at):
        offer.refresh_from_db(fields=["status"])
        raise TransitionError(
            f"This offer is {offer.get_status_display().lower()}; it cannot become {Offer.Status(to).label.lower()}."
        )
    offer.status = to  # as the UPDATE wrote it: no second read
    if to in ANSWERS:
        offer.responded_at = at
    return offer


def driver_card(driver: Driver) -> DriverCard:
    vehicle = driver.get_vehicle_type_display()
    return DriverCard(
        id=driver.pk,
        first_name=driver.first_name,
        vehicle=f"{driver.vehicle_description} ({vehicle})" if driver.vehicle_description else vehicle,
        capacity_packages=driver.capacity_packages,
    )


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
    window_offers_sent(window=window, wave=wave, now=now)
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


def offer_accept(*, offer: Offer, driver: Driver, now: datetime | None = None) -> Offer:
    """Take the window. The window's row lock decides between drivers who accept at once: the first
    wins, the others get TransitionError ("already taken"). The winner's transaction only claims the
    window; ledger notes on its orders, withdrawing the other offers and telling those drivers follow
    after commit, in bulk, in one task (`window_taken_follow_up`)."""
    now = now or timezone.now()
    # First as the caller read it, without a transaction: most of those who lost the race hear so at once,
    # without queueing for a lock. What passes is read and checked again under the locks.
    _check_acceptable(offer, now)
    return _offer_claim(offer=offer, driver=driver, now=now)


@transaction.atomic
def _offer_claim(*, offer: Offer, driver: Driver, now: datetime) -> Offer:
    Driver.objects.select_for_update(no_key=True).get(pk=driver.pk)  # one accept at a time per driver
    offer = _offer_of(offer, driver)
    _check_acceptable(offer, now)
    window = offer.window
    overlapping = PickupWindow.objects.filter(
        driver=driver, status__in=BUSY, starts_at__lt=window.ends_at, ends_at__gt=window.starts_at
    )
    if overlapping.exists():
        raise TransitionError("You already have a pickup at that time.")
    window = window_accept(window_id=window.pk, driver=driver_card(driver), actor=Actor.of_driver(driver.user), now=now)
    offer = offer_move(offer, to=Offer.Status.ACCEPTED, at=now)
    enqueue_on_commit("deliveries.tasks.follow_up_accept", window_id=window.pk)
    return offer


def _offer_of(offer: Offer, driver: Driver) -> Offer:
    """The offer as it is now, with its window; only the driver's own (DoesNotExist otherwise)."""
    return Offer.objects.select_related("window").get(pk=offer.pk, driver=driver)


def _check_acceptable(offer: Offer, now: datetime) -> None:
    if offer.status == Offer.Status.WITHDRAWN or (offer.status == Offer.Status.OPEN and offer.window.driver_id):
        raise TransitionError("Already taken: another driver accepted this pickup first.")
    if offer.status != Offer.Status.OPEN:
        raise TransitionError(f"This offer is {offer.get_status_display().lower()}; it can no longer be accepted.")
    if offer.expires_at <= now:
        raise TransitionError("This offer has expired.")


def window_taken_follow_up(*, window_id: int, now: datetime | None = None) -> int:
    """What an accept leaves for after its commit: the driver noted in each order's ledger, the other
    drivers' offers withdrawn and those drivers told. Safe to run again; returns the offers withdrawn."""
    window_note_driver(window_id=window_id)
    return offers_withdraw_taken(window_id=window_id, now=now)


@transaction.atomic
def offers_withdraw_taken(*, window_id: int, now: datetime | None = None) -> int:
    """The window has its driver: the other drivers' open offers are withdrawn (one UPDATE) and those
    drivers told (one INSERT per channel, one task for all). Safe to run again; returns how many."""
    now = now or timezone.now()
    open_offers = Offer.objects.filter(window_id=window_id, status=Offer.Status.OPEN, window__driver__isnull=False)
    # Locked, and those another run holds skipped, so the task and the sweep never tell a driver twice.
    others = list(
        open_offers.select_for_update(skip_locked=True, of=("self",)).select_related("driver__user", "window__site")
    )
    offers_move(Offer.objects.filter(pk__in=[other.pk for other in others]), to=Offer.Status.WITHDRAWN, at=now)
    if others:
        recipients = [(other.driver.user.username, other.driver.user) for other in others]
        context = {"window": others[0].window}
        notify_each(
            channel=Notification.Channel.IN_APP, recipients=recipients, template="offer_withdrawn", context=context
        )
        phones = [(other.driver.phone, other.driver.user) for other in others]
        notify_each(channel=Notification.Channel.SMS, recipients=phones, template="offer_withdrawn", context=context)
    return len(others)


def windows_taken_unfollowed() -> list[int]:
    """Taken windows whose follow-up is not done (the task after the accept was lost): other offers
    still open, or orders without the ledger note of their driver."""
    open_offers = (
        Offer.objects.filter(status=Offer.Status.OPEN, window__driver__isnull=False)
        .values_list("window_id", flat=True)
        .distinct()
    )
    return sorted({*open_offers, *windows_driver_unnoted()})


@transaction.atomic
def offer_decline(*, offer: Offer, driver: Driver, now: datetime | None = None) -> Offer:
    now = now or timezone.now()
    if offer.driver_id != driver.pk:
        raise TransitionError("This offer is not yours.")
    offer = offer_move(offer, to=Offer.Status.DECLINED, at=now)
    _next_wave_now_if_unanswered(offer.window_id, now)
    return offer


@transaction.atomic
def window_give_back(*, window: PickupWindow, driver: Driver, now: datetime | None = None) -> PickupWindow:
    """The driver can't make an accepted pickup after all (before arriving): it is offered again now."""
    now = now or timezone.now()
    window = window_release(window_id=window.pk, driver_id=driver.pk, actor=Actor.of_driver(driver.user), now=now)
    offers_move(Offer.objects.filter(window=window, driver=driver), to=Offer.Status.RELEASED, at=now)
    # The drivers who lost the race are asked again first: they were the nearest (an offer per driver
    # and window, so theirs is reopened rather than made anew).
    withdrawn = list(Offer.objects.filter(window=window, status=Offer.Status.WITHDRAWN).select_related("driver__user"))
    expires = min(now + timedelta(minutes=settings.OFFER_EXPIRY_MINUTES), window.starts_at)
    if offers_move(Offer.objects.filter(pk__in=[offer.pk for offer in withdrawn]), to=Offer.Status.OPEN, at=now):
        Offer.objects.filter(pk__in=[offer.pk for offer in withdrawn]).update(offered_at=now, expires_at=expires)
        for offer in withdrawn:
            offer.expires_at = expires
            _tell_driver(offer.driver, "offer_new", {"offer": offer, "window": window})
    return window


def offers_expire(*, now: datetime) -> int:
    """Open offers past their time become expired; their windows get the next wave at once."""
    expired = Offer.objects.filter(status=Offer.Status.OPEN, expires_at__lte=now)
    window_ids = set(expired.values_list("window_id", flat=True))
    count = offers_move(expired, to=Offer.Status.EXPIRED, at=now)
    for window_id in window_ids:
        _next_wave_now_if_unanswered(window_id, now)
    return count


def _next_wave_now_if_unanswered(window_id: int, now: datetime) -> None:
    if not Offer.objects.filter(window_id=window_id, status=Offer.Status.OPEN).exists():
        window_next_wave_now(window_id=window_id, now=now)


def visit_collect(**collect) -> CollectResult:
    """Scan at a counter (pickups.visits.window_collect); when it finishes the visit, the run starts."""
    result = window_collect(**collect)
    run_announce_soon(result.window)
    return result


def visit_depart(**depart) -> DepartResult:
    """Leave the site (pickups.visits.window_depart): what was collected is out for delivery."""
    result = window_depart(**depart)
    run_announce_soon(result.window)
    return result
