"""The program team's dispatch: what an admin does for a pickup nobody has taken in time.

Offer it again, farther, now (the next wave without waiting for it), or give it to a driver they
reached by phone. Giving goes through the driver's own accept (`offer_accept`), so one statement of
the rules decides both: free at that time, room in the car, before the start, first accept wins.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.distance import miles_between
from common.errors import TransitionError
from notifications.models import Notification
from notifications.services import notify
from pickups.models import PickupWindow
from pickups.visits import window_next_wave_now

from .models import Driver, Offer
from .services import BUSY, offer_accept, offer_move, window_offer_wave

CANDIDATES = 20  # drivers listed for a window, nearest first


@dataclass(frozen=True)
class Candidate:
    driver: Driver
    miles: Decimal
    offer: Offer | None  # this driver's offer for the window, if one was made


def dispatch_candidates(window: PickupWindow) -> list[Candidate]:
    """Active drivers with room for the window's packages and no pickup at that time, nearest first,
    each with what became of their offer (three queries whatever the number of drivers)."""
    busy = PickupWindow.objects.filter(
        status__in=BUSY, starts_at__lt=window.ends_at, ends_at__gt=window.starts_at
    ).values("driver_id")
    drivers = (
        Driver.objects.filter(status=Driver.Status.ACTIVE, capacity_packages__gte=window.booked_packages)
        .exclude(pk__in=busy)
        .select_related("user")
    )
    offers = {offer.driver_id: offer for offer in Offer.objects.filter(window=window)}
    near = [Candidate(driver, _miles(driver, window.site), offers.get(driver.pk)) for driver in drivers]
    return sorted(near, key=lambda candidate: (candidate.miles, candidate.driver.pk))[:CANDIDATES]


@transaction.atomic
def window_offer_wider(*, window_id: int, now: datetime | None = None) -> list[Offer]:
    """The next wave, reaching farther, now rather than when it is due. Returns the offers made (none
    when no other driver is within reach)."""
    now = now or timezone.now()
    window_next_wave_now(window_id=window_id, now=now)
    return window_offer_wave(window_id=window_id, now=now)


@transaction.atomic
def window_assign_driver(*, window_id: int, driver_id: int, now: datetime | None = None) -> Offer:
    """Give the window to a driver who agreed by phone: their offer (made now if they had none, made
    again if it expired or they declined) is accepted as if they had pressed Accept, and they are told."""
    now = now or timezone.now()
    window = PickupWindow.objects.select_related("site").get(pk=window_id)
    driver = Driver.objects.select_related("user").get(pk=driver_id)
    if window.starts_at <= now:
        raise TransitionError("This pickup has started; it can no longer be given to a driver.")
    if driver.status != Driver.Status.ACTIVE:
        raise TransitionError(f"{driver} is {driver.get_status_display().lower()}, not an active driver.")
    expires = min(now + timedelta(minutes=settings.OFFER_EXPIRY_MINUTES), window.starts_at)
    offer = Offer.objects.filter(window=window, driver=driver).first()
    if offer is None:
        offer = Offer.objects.create(
            window=window,
            driver=driver,
            wave=max(window.offer_wave, 1),
            distance_miles=_miles(driver, window.site),
            offered_at=now,
            expires_at=expires,
        )
    elif offer.status != Offer.Status.OPEN:
        offer = offer_move(offer, to=Offer.Status.OPEN, at=now)
        Offer.objects.filter(pk=offer.pk).update(offered_at=now, expires_at=expires)
        offer.expires_at = expires
    accepted = offer_accept(offer=offer, driver=driver, now=now)
    context = {"driver": driver, "window": window}
    notify(
        channel=Notification.Channel.IN_APP,
        to=[driver.user.username],
        template="window_assigned",
        context=context,
        user=driver.user,
    )
    notify(
        channel=Notification.Channel.SMS,
        to=[driver.phone],
        template="window_assigned",
        context=context,
        user=driver.user,
    )
    return accepted


def _miles(driver: Driver, site) -> Decimal:
    miles = miles_between(driver.home_latitude, driver.home_longitude, site.latitude, site.longitude)
    return Decimal(miles).quantize(Decimal("0.1"))
