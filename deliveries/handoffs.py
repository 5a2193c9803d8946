"""Handoffs on the road: to the customer (with proof), a failed attempt, and back over the store's counter.

Each is a move of the order through `pickups.ledger`, so the table of moves decides what is
allowed and the ledger keeps the proof. A failed parcel must be back at its store the same day:
one not returned by the store's closing time is flagged for the program admins.
"""

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q

from common.actors import Actor
from common.errors import TransitionError
from merchants.handoff_codes import store_code_check
from merchants.models import Store
from merchants.services import program_admin_emails
from notifications.services import notification_email
from pickups.counter_scans import Outcomes, Scan, labels_of, orders_complete, scan_labels
from pickups.customer_messages import customers_tell
from pickups.ledger import order_move, order_transition, orders_save
from pickups.models import DELIVERY_PLACES, FAILURE_REASONS, Order, Package

from .models import Driver
from .proof_photos import proof_photo_save


@transaction.atomic
def order_deliver(
    *,
    order: Order,
    driver: Driver,
    left_at: str,
    recipient_name: str = "",
    photo=None,
    location: tuple | None = None,
) -> Order:
    """The parcel reached the customer. Proof: who took it, or a photo; a photo whenever it was not
    handed over in person. The proof goes into the ledger event; the photo is stored apart."""
    recipient_name = recipient_name.strip()
    if left_at not in DELIVERY_PLACES:
        raise ValidationError({"left_at": f"Choose one of: {', '.join(DELIVERY_PLACES)}."})
    if left_at != "handed_to_customer" and photo is None:
        raise ValidationError({"photo": "Take a photo of where you left the parcel."})
    if not recipient_name and photo is None:
        raise ValidationError({"recipient_name": "Say who took the parcel, or take a photo."})
    stored = proof_photo_save(photo) if photo is not None else None
    details = {"left_at": left_at, "recipient_name": recipient_name, "attempt": order.attempt}
    details |= {"photo": stored.name, "photo_sha256": stored.sha256} if stored else {"photo": ""}
    try:
        order = order_transition(
            order=order, to=Order.Status.DELIVERED, actor=_actor(driver), details=details, location=location
        )
    except TransitionError:
        if stored:
            default_storage.delete(stored.name)  # nothing refers to it
        raise
    how = {"delivered_at": order.updated_at, "how": DELIVERY_PLACES[left_at]}
    customers_tell(orders=[order], what="delivered", details={order.pk: how})
    return order


@transaction.atomic
def order_fail(*, order: Order, driver: Driver, reason: str, note: str = "", location: tuple | None = None) -> Order:
    """The parcel could not be delivered: it goes back to its store, which the driver's returns prove."""
    note = note.strip()
    if reason not in FAILURE_REASONS:
        raise ValidationError({"reason": f"Choose one of: {', '.join(FAILURE_REASONS)}."})
    if reason == "other" and not note:
        raise ValidationError({"note": "Say what happened."})
    details = {"reason": reason, "note": note, "attempt": order.attempt}
    order = order_transition(
        order=order, to=Order.Status.DELIVERY_FAILED, actor=_actor(driver), details=details, location=location
    )
    customers_tell(orders=[order], what="delivery_failed", details={order.pk: {"why": FAILURE_REASONS[reason]}})
    return order


# What a driver hears for each label scanned at a store's counter to hand it back.
RETURN_OUTCOMES = Outcomes(
    scanned=("returned", "Returned."),
    again=("already_returned", "Already returned."),
    other_store=("other_store", "This parcel belongs to another store."),
    elsewhere=("not_yours", "Not one of your failed deliveries."),
)


@dataclass(frozen=True)
class ReturnResult:
    scans: list[Scan]
    returned: list[Order]  # orders now wholly back at the store


@transaction.atomic
def orders_return(
    *, driver: Driver, store_id: int, store_code: str, label_codes: list[str], now: datetime
) -> ReturnResult:
    """The store takes failed parcels back, proven by its code and each label's scan; an order is
    returned when all its packages are back. A wrong code records nothing."""
    failed = list(
        Order.objects.select_for_update(of=("self",))
        .filter(pickup_window__driver=driver, status=Order.Status.DELIVERY_FAILED)
        .order_by("pk")
    )
    packages = list(Package.objects.filter(order__in=failed).select_related("order"))
    if store_id not in {order.store_id for order in failed}:
        raise ValidationError({"store": "You have no failed deliveries of that store to return."})
    store = Store.objects.get(pk=store_id)
    store_code_check(store, store_code, at=now, scope=f"returns:{driver.pk}")

    scans, back = scan_labels(
        label_codes,
        packages=packages,
        store_id=store.pk,
        from_status=Order.Status.DELIVERY_FAILED,
        stamp="returned_at",
        at=now,
        outcomes=RETURN_OUTCOMES,
    )
    returned = orders_complete(packages, back, "returned_at")
    details = {"store": store.name, "driver": driver.first_name}
    orders_save(
        returned,
        [
            order_move(
                order,
                to=Order.Status.RETURNED,
                actor=_actor(driver),
                at=now,
                details=details | {"labels": labels_of(order.pk, packages)},
            )
            for order in returned
        ],
    )
    return ReturnResult(scans=scans, returned=returned)


@transaction.atomic
def returns_overdue(*, now: datetime) -> list[Order]:
    """Failed deliveries not back at their store by its closing time on the day they failed: flag
    them and tell the program admins once (the flag is set by a conditional UPDATE)."""
    candidates = (
        Order.objects.filter(status=Order.Status.DELIVERY_FAILED, return_overdue=False)
        .annotate(failed_at=Max("events__occurred_at", filter=Q(events__type="order.delivery_failed")))
        .select_related("store__site", "merchant")
        .prefetch_related("store__opening_hours")
    )
    overdue = [order for order in candidates if return_deadline(order.store, order.failed_at) <= now]
    flagged = [
        order
        for order in overdue
        if Order.objects.filter(pk=order.pk, return_overdue=False).update(return_overdue=True)
    ]
    if flagged:
        notification_email(to=program_admin_emails(), template="returns_overdue", context={"orders": flagged})
    return flagged


def return_deadline(store: Store, failed_at: datetime) -> datetime:
    """The store's closing time on the local day the delivery failed (midnight if it is closed that day)."""
    zone = ZoneInfo(store.site.timezone)
    day = failed_at.astimezone(zone).date()
    hours = {hours.weekday: hours.closes for hours in store.opening_hours.all()}
    closes = hours.get(day.weekday())
    if closes is None or failed_at.astimezone(zone).time() >= closes:
        return datetime.combine(day, time(23, 59, 59), tzinfo=zone)
    return datetime.combine(day, closes, tzinfo=zone)


def _actor(driver: Driver) -> Actor:
    return Actor.of_driver(driver.user)
