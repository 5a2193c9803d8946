"""What a customer reads about their parcel: the steps it takes, where it is now in plain words, the
promised day, the arrival window once it is on its way, and how it was delivered.

Read from the order and its ledger events (loaded in time order); nothing personal beyond the
customer's first name: no surname, address, phone or photo.
"""

from dataclasses import dataclass
from datetime import date, datetime

from .models import DELIVERY_PLACES, FAILURE_REASONS, Order, OrderEvent

Status = Order.Status

STEPS = ["Order placed", "Ready at the store", "Picked up by the driver", "Out for delivery", "Delivered"]
# How the last step reads when the journey ended otherwise.
LAST_STEP = {
    Status.DELIVERY_FAILED: "Delivery attempt failed",
    Status.RETURNED: "Back at the store",
    Status.COLLECTED: "Collected in the store",
}
# The event that ends the journey in each final status.
LAST_EVENT = {
    Status.DELIVERED: "order.delivered",
    Status.DELIVERY_FAILED: "order.delivery_failed",
    Status.RETURNED: "order.returned",
    Status.COLLECTED: "order.collected",
}
# Statuses in which the promised day still stands.
PROMISING = {Status.CREATED, Status.READY, Status.SCHEDULED, Status.PICKED_UP}


@dataclass(frozen=True)
class Step:
    title: str
    done: bool
    current: bool
    at: datetime | None


@dataclass(frozen=True)
class Tracking:
    headline: str  # where the parcel is now, in a few plain words
    detail: str  # why, and what happens next, when it did not go to plan
    steps: list[Step]  # none for a cancelled order
    promised_date: date | None
    eta_from: datetime | None
    eta_to: datetime | None
    delivered_how: str  # e.g. "Left at the front door"
    delivered_at: datetime | None


def tracking_of(order: Order, events: list[OrderEvent]) -> Tracking:
    """The customer's view of an order, from its status and the latest event of each kind."""
    last = {event.type: event for event in events}  # in time order: the latest of each type wins
    out = last.get("order.out_for_delivery")
    picked = last.get("order.picked_up")
    out_now = out is not None and (picked is None or out.id > picked.id)
    ended = last.get(LAST_EVENT.get(order.status, ""))
    times = [last.get("order.created"), last.get("order.ready"), picked, out if out_now else None, ended]
    reached = _reached(order.status, out_now)
    titles = [*STEPS[:-1], LAST_STEP.get(order.status, STEPS[-1])]
    steps = [
        Step(title=title, done=index < reached, current=index == reached, at=event.occurred_at if event else None)
        for index, (title, event) in enumerate(zip(titles, times, strict=True))
    ]
    delivered = ended if order.status == Status.DELIVERED else None
    headline, detail = _words(order, last, out_now)
    return Tracking(
        headline=headline,
        detail=detail,
        steps=[] if order.status == Status.CANCELLED else steps,
        promised_date=order.promised_date if order.status in PROMISING else None,
        eta_from=_eta(out, "eta_from") if out_now and order.status == Status.PICKED_UP else None,
        eta_to=_eta(out, "eta_to") if out_now and order.status == Status.PICKED_UP else None,
        delivered_how=DELIVERY_PLACES.get(delivered.details.get("left_at"), "") if delivered else "",
        delivered_at=delivered.occurred_at if delivered else None,
    )


def _eta(event: OrderEvent, key: str) -> datetime:
    return datetime.fromisoformat(event.details[key])


def _reached(status: str, out_now: bool) -> int:
    """The index of the step the parcel is at; past the last once delivered or collected."""
    if status in (Status.DELIVERED, Status.COLLECTED):
        return len(STEPS)
    if status in (Status.DELIVERY_FAILED, Status.RETURNED):
        return len(STEPS) - 1
    if status == Status.PICKED_UP:
        return 3 if out_now else 2
    if status in (Status.READY, Status.SCHEDULED):
        return 1
    return 0


def _words(order: Order, last: dict, out_now: bool) -> tuple[str, str]:
    """The headline, and a sentence on why and what next when it did not go to plan."""
    store = order.store.name
    if order.status == Status.DELIVERED:
        return "Your parcel was delivered.", ""
    if order.status == Status.PICKED_UP:
        return ("Your parcel is on its way." if out_now else "The driver has your parcel."), ""
    if order.status in (Status.READY, Status.SCHEDULED):
        return f"{store} has your parcel ready for the driver.", ""
    if order.status == Status.DELIVERY_FAILED:
        failed = last.get("order.delivery_failed")
        why = FAILURE_REASONS.get(failed.details.get("reason"), "") if failed else ""
        return "We couldn't deliver your parcel.", f"{why}. It is going back to {store} today."
    if order.status == Status.RETURNED:
        return "Your parcel is back at the store.", f"{store} will arrange a new delivery or a pickup in store."
    if order.status == Status.COLLECTED:
        return f"You collected your parcel at {store}.", ""
    if order.status == Status.CANCELLED:
        return "This order was cancelled.", f"Ask {store} if you have questions."
    return f"{store} is preparing your order.", ""
