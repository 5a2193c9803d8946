"""The order ledger: the one table of moves an order may make, the move function, bulk saves and notes.

Every change of an order's status goes through `order_move` (in memory, on a locked row) and
`orders_save` (one UPDATE per group of alike orders, one INSERT of their events). Every event is
written by `events_append`, which seals it into its order's custody chain (`custody`). Use cases
(`services`), window planning (`windows`) and visits (`visits`) all call down into this module.
"""

from collections.abc import Callable, Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from common.actors import Actor
from common.errors import TransitionError
from common.tasks import enqueue_on_commit

from .custody import coordinate, event_digest
from .models import Order, OrderEvent, Package
from .webhook_feed import webhooks_from_ledger
from .window_states import windows_release_capacity

Status = Order.Status

# The only moves an order may make. A scheduled order whose pickup is missed, or that the driver
# left at the store, goes back to ready. A failed delivery goes back to its store; from there the
# merchant sends it out again (a new attempt, up to MAX_DELIVERY_ATTEMPTS), hands it to the
# customer in the store, or cancels it.
ORDER_TRANSITIONS = {
    Status.CREATED: {Status.READY, Status.CANCELLED},
    Status.READY: {Status.SCHEDULED, Status.CANCELLED},
    Status.SCHEDULED: {Status.PICKED_UP, Status.READY, Status.CANCELLED},
    Status.PICKED_UP: {Status.DELIVERED, Status.DELIVERY_FAILED},
    Status.DELIVERY_FAILED: {Status.RETURNED},
    Status.RETURNED: {Status.READY, Status.COLLECTED, Status.CANCELLED},
    Status.DELIVERED: set(),
    Status.COLLECTED: set(),
    Status.CANCELLED: set(),
}

# Statuses in which an order's parcels may carry scans (collected at a counter, returned to one).
SCANNED = {Status.SCHEDULED, Status.RETURNED}

# What a move to each status writes besides the status and its time.
MOVE_WRITES = {
    Status.READY: ("ready_at", "pickup_window_id", "attempt"),
    Status.SCHEDULED: ("pickup_window_id", "not_scheduled_reason", "promised_date"),
    Status.RETURNED: ("return_overdue",),
    Status.CANCELLED: ("cancelled_at", "cancel_reason", "pickup_window_id"),
}


def order_transition(
    *, order: Order, to: str, actor: Actor, event_type: str = "", details: dict | None = None, location=None
) -> Order:
    """Move one order; an illegal move raises TransitionError and changes nothing."""
    moved, refused = orders_transition(
        orders=[order], to=to, actor=actor, event_type=event_type, details=details, location=location
    )
    if refused:
        raise TransitionError(refused[0][1])
    return moved[0]


@transaction.atomic
def orders_transition(
    *,
    orders: Iterable[Order],
    to: str,
    actor: Actor,
    event_type: str = "",
    details: dict | None = None,
    location: tuple | None = None,
    guard: Callable[[Order], str] | None = None,
) -> tuple[list[Order], list[tuple[Order, str]]]:
    """Move many orders at once; returns (moved, [(refused order, why)]). `guard`, given a locked
    order, names why this caller may not move it (a use case narrower than the table), or "".

    The rows are locked in id order (so two bulk moves cannot deadlock) and the status re-read
    under the lock before each move is checked; every move appends a ledger event. Cancelled
    orders give their window's room back; orders made ready are queued for assignment.
    """
    ids = sorted({order.pk for order in orders})
    locked = list(Order.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    now = timezone.now()
    moved, refused, events = [], [], []
    for order in locked:
        refusal = guard(order) if guard else ""
        if refusal:
            refused.append((order, refusal))
            continue
        try:
            events.append(
                order_move(order, to=to, actor=actor, at=now, event_type=event_type, details=details, location=location)
            )
        except TransitionError as error:
            refused.append((order, str(error)))
        else:
            moved.append(order)
    if to == Status.CANCELLED:
        windows_release_capacity(order_ids=[order.pk for order in moved])  # before the orders leave their window
    orders_save(moved, events)
    if to == Status.READY and moved:
        enqueue_on_commit("pickups.tasks.assign_orders", order_ids=[order.pk for order in moved])
    return moved, refused


def order_move(
    order: Order,
    *,
    to: str,
    actor: Actor,
    at: datetime,
    event_type: str = "",
    details: dict | None = None,
    location=None,
) -> OrderEvent:
    """Check one move against ORDER_TRANSITIONS and apply it to the (locked) order in memory.

    Returns the ledger event to append; the caller saves both with `orders_save`.
    """
    if to not in ORDER_TRANSITIONS[order.status]:
        raise TransitionError(
            f"Order {order.external_id} is {order.get_status_display().lower()}, "
            f"so it cannot become {Status(to).label.lower()}."
        )
    again = order.status == Status.RETURNED and to == Status.READY
    if again and order.attempt >= settings.MAX_DELIVERY_ATTEMPTS:
        raise TransitionError(
            f"Order {order.external_id} went out {order.attempt} times, the most we try: "
            "hand it to the customer in the store, or cancel it."
        )
    details = (details or {}) | ({"attempt": order.attempt + 1} if again else {})
    event = order_event(order, event_type or f"order.{to}", actor, at, order.status, to, details, location)
    order.status, order.updated_at = to, at
    if to == Status.READY:
        order.ready_at, order.pickup_window, order.attempt = at, None, order.attempt + again
    elif to == Status.CANCELLED:
        order.cancelled_at, order.cancel_reason = at, (details or {}).get("reason", "")
        order.pickup_window = None
    elif to == Status.RETURNED:
        order.return_overdue = False  # back at the store: no longer an exception; a later attempt starts afresh
    return event


def orders_save(orders: list[Order], events: list[OrderEvent]) -> None:
    """Write moved orders and their ledger events in bulk.

    Orders that moved alike (same new status, time, window...) share one UPDATE of just the
    fields their move writes, so a bulk move or a window's worth of assignments is one statement.
    """
    alike: dict[tuple, list[int]] = {}
    for order in orders:
        names = ("status", "updated_at", *MOVE_WRITES.get(order.status, ()))
        alike.setdefault(tuple((name, getattr(order, name)) for name in names), []).append(order.pk)
    for values, ids in alike.items():
        Order.objects.filter(pk__in=ids).update(**dict(values))
    # An order back to ready has its parcels at its store: scans of an earlier pickup or return no longer count.
    back = [event.order_id for event in events if event.to_status == Status.READY and event.from_status in SCANNED]
    if back:
        Package.objects.filter(order__in=back).update(collected_at=None, returned_at=None)
    events_append(events)


def orders_note(*, orders: Iterable[Order], type: str, actor: Actor, at: datetime, details: dict, location=None) -> int:
    """Append a ledger event without a status change (a driver assigned, a driver arrived) to each order."""
    events = events_append(
        [order_event(order, type, actor, at, order.status, order.status, details, location) for order in orders]
    )
    return len(events)


def events_append(events: list[OrderEvent], *, new_orders: bool = False) -> list[OrderEvent]:
    """The one way ledger events are written: each is sealed to the last event of its order (those of
    one order in list order), then all are inserted at once: one look-up and one bulk INSERT, whatever the number.

    No other transaction may append to these orders between the look-up and the commit, or two events
    would claim the same predecessor: callers hold the orders' row locks (moves), or their window's
    (notes on a window's scheduled orders, whose every move also writes the window row). Orders created
    in this transaction have no events yet: `new_orders` skips the look-up.
    """
    if not events:
        return []
    last = {} if new_orders else _last_seals({event.order_id for event in events})
    for event in events:
        # The place as its columns keep it, so the seal computed now is the one read back later.
        event.latitude, event.longitude = coordinate(event.latitude), coordinate(event.longitude)
        event.prev_hash = last.get(event.order_id, "")
        event.hash = last[event.order_id] = event_digest(event, event.prev_hash)
    events = OrderEvent.objects.bulk_create(events)
    webhooks_from_ledger(events)  # in this transaction: a webhook for every event, none for a rolled-back one
    return events


def _last_seals(order_ids: set[int]) -> dict[int, str]:
    """{order id: the seal of its latest event} in one query; orders without events are left out."""
    latest = OrderEvent.objects.filter(order_id__in=order_ids).values("order_id").annotate(last=Max("id"))
    return dict(OrderEvent.objects.filter(pk__in=latest.values("last")).values_list("order_id", "hash"))


def order_event(order, type_, actor: Actor, at, from_status, to_status, details, location=None) -> OrderEvent:
    latitude, longitude = location or (None, None)
    return OrderEvent(
        order=order,
        type=type_,
        occurred_at=at,
        actor=actor.user,
        actor_label=actor.label,
        from_status=from_status,
        to_status=to_status,
        latitude=latitude,
        longitude=longitude,
        details=details,
    )
