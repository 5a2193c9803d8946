"""The order ledger: the one table of moves an order may make, the move function, bulk saves and notes.

Every change of an order's status goes through `order_move` (in memory, on a locked row) and
`orders_save` (one UPDATE per group of alike orders, one INSERT of their events). Every event is
written by `events_append`, which seals it into its order's custody chain (`custody`). Use cases
(`services`), window planning (`windows`) and visits (`visits`) all call down into this module.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from common.actors import Actor
from common.bulk import array_text, copy_text, rows_set, rows_update
from common.compiled import CompiledInsert
from common.errors import TransitionError
from common.tasks import enqueue_on_commit_gathered
from merchants import standing

from .custody import coordinate, digester, event_digest
from .models import Order, OrderEvent, Package
from .order_locks import OneOrder, Orders, one_order, orders_locked
from .webhook_feed import webhooks_from_ledger, webhooks_from_seals
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
    Status.SCHEDULED: ("pickup_window_id", "not_scheduled_reason", "promised_date", "schedule_untold"),
    Status.RETURNED: ("return_overdue",),
    Status.CANCELLED: ("cancelled_at", "cancel_reason", "pickup_window_id"),
}


def order_transition(
    *,
    order: OneOrder,
    to: str,
    actor: Actor,
    event_type: str = "",
    details: dict | None = None,
    location=None,
    allowed: str = "",
) -> Order:
    """Move one order; an illegal move raises TransitionError and changes nothing. `order` may be a
    read of it (see `Orders`): Http404 if that holds none."""
    moved, refused = orders_transition(
        orders=one_order(order),
        to=to,
        actor=actor,
        event_type=event_type,
        details=details,
        location=location,
        allowed=allowed,
    )
    return the_one(moved, refused)


def the_one(moved: list[Order], refused: list[tuple[Order, str]]) -> Order:
    """The order a move of one order moved; TransitionError if it was refused, 404 if there was none."""
    if refused:
        raise TransitionError(refused[0][1])
    if not moved:
        raise Http404("No such order.")
    return moved[0]


@transaction.atomic
def orders_transition(
    *,
    orders: Orders,
    to: str,
    actor: Actor,
    event_type: str = "",
    details: dict | None = None,
    location: tuple | None = None,
    guard: Callable[[Order], str] | None = None,
    allowed: str = "",
) -> tuple[list[Order], list[tuple[Order, str]]]:
    """Move many orders at once; returns (moved, [(refused order, why)]). `guard`, given a locked
    order, names why this caller may not move it (a use case narrower than the table), or "".
    `allowed`: the action (merchants.standing) the orders' merchants must be allowed, checked on the
    merchants read with the locked rows; NotAllowedError otherwise, and nothing moves.

    The rows are locked (`orders_locked`) and the status re-read under the lock before each move is
    checked; every move appends a ledger event. Cancelled orders give their window's room back; orders
    made ready are queued for assignment.
    """
    locked = orders_locked(orders)
    if allowed:
        for merchant in {order.merchant_id: order.merchant for order in locked}.values():
            standing.merchant_check(merchant, allowed)
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
        assignment_ask(moved)
    return moved, refused


def assignment_ask(orders: Iterable[Order]) -> None:
    """After commit, a worker puts these orders, made ready, into windows: it schedules every ready order of
    their stores, those flagged there before it starts included (flags while it waits send no other task).
    Each run takes the stores' whole ready backlog, as the minute sweep does."""
    keys = {order.store_id for order in orders}
    enqueue_on_commit_gathered("pickups.tasks.assign_stores", argument="store_ids", keys=keys)


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
    """Write moved orders and their ledger events in bulk. The caller's transaction holds the orders' row
    locks: the UPDATE reads their chain heads, and would not see an event committed while it waited for one.

    Orders that moved alike (same new status, time, window...) share one UPDATE of just the
    fields their move writes, so a bulk move or a window's worth of assignments is one statement.
    """
    alike: dict[tuple, list[int]] = {}
    for order in orders:
        names = ("status", "updated_at", *MOVE_WRITES.get(order.status, ()))
        alike.setdefault(tuple((name, getattr(order, name)) for name in names), []).append(order.pk)
    heads: dict[int, str] = {}
    for values, ids in alike.items():
        heads |= _orders_update(ids, dict(values))
    # An order back to ready has its parcels at its store: scans of an earlier pickup or return no longer count.
    back = [event.order_id for event in events if event.to_status == Status.READY and event.from_status in SCANNED]
    if back:
        Package.objects.filter(order__in=back).update(collected_at=None, returned_at=None)
    events_append(events, heads=heads)


def _orders_update(ids: list[int], values: dict) -> dict[int, str]:
    """One UPDATE of orders moved alike. On PostgreSQL it also returns each order's chain head (the seal of its
    last event, "" for none): read by this statement, after the move locked the orders, as the look-up of
    `events_append` would, one round trip less for every move. Elsewhere it returns nothing known."""
    if connection.vendor != "postgresql":
        Order.objects.filter(pk__in=ids).update(**values)
        return {}
    head = _head(connection.ops.quote_name(Order._meta.db_table))
    return {order_id: last or "" for order_id, last in rows_set(Order, ids, values, returning=head)}


def _head(orders: str) -> str:
    """SQL of the seal of the last event of each order of `orders` (a table or an alias), NULL for none: one
    descent of the chain index, rather than all the order's events read and sorted."""
    events = connection.ops.quote_name(OrderEvent._meta.db_table)
    return f"(SELECT hash FROM {events} WHERE order_id = {orders}.id ORDER BY id DESC LIMIT 1)"


def orders_note(*, orders: Iterable[Order], type: str, actor: Actor, at: datetime, details: dict, location=None) -> int:
    """Append a ledger event without a status change (a driver assigned, a driver arrived) to each order."""
    events = events_append(
        [order_event(order, type, actor, at, order.status, order.status, details, location) for order in orders]
    )
    return len(events)


_events_insert = CompiledInsert(OrderEvent)  # a move's or a new order's event: compiled once (common.compiled)


def events_append(
    events: list[OrderEvent],
    *,
    heads: dict[int, str] | None = None,
    new_orders: bool = False,
    along: tuple | None = None,
) -> list[OrderEvent]:
    """The one way ledger events are written: each is sealed to the last event of its order (those of
    one order in list order), then all are inserted at once: at most one look-up and one bulk INSERT, whatever
    the number.

    No other transaction may append to these orders between the look-up and the commit, or two events
    would claim the same predecessor: callers hold the orders' row locks (moves), or their window's
    (notes on a window's scheduled orders, whose every move also writes the window row). `heads` are
    the seals of the orders' last events where the caller read them under those locks ("" for an order
    with none); only the other orders are looked up. Orders created in this transaction have no events
    yet: `new_orders` skips the look-up. `along`: rows of another table to write by the same statement
    (`CompiledInsert`), e.g. new orders' packages.
    """
    if not events:
        return []
    last = dict(heads or {})
    if not new_orders and (unknown := {event.order_id for event in events} - last.keys()):
        last |= _last_seals_of(list(unknown))
    for event in events:
        # The place as its columns keep it, so the seal computed now is the one read back later.
        event.latitude, event.longitude = coordinate(event.latitude), coordinate(event.longitude)
        event.prev_hash = last.get(event.order_id, "")
        event.hash = last[event.order_id] = event_digest(event, event.prev_hash)
    events = _events_insert(events, along=along)
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


# ---------------------------------------------------------------------------------------------
# Moves of many orders as plain values (the assignment): no model instance per order.


@dataclass(slots=True)
class Entry:
    """A ledger event as plain values, sealed and written like an `OrderEvent` (the seal reads the same fields)."""

    order_id: int
    merchant_id: int
    type: str
    occurred_at: datetime
    actor_label: str
    from_status: str
    to_status: str
    details: dict
    latitude: None = None  # moves in bulk are the system's, made nowhere in particular
    longitude: None = None
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True, slots=True)
class PlainMove:
    """One locked order's move: `writes` are the values of the fields MOVE_WRITES names for the new status."""

    order_id: int
    merchant_id: int
    writes: tuple
    details: dict


def orders_move_plain(moves: list[PlainMove], *, from_status: str, to: str, actor: Actor, at: datetime) -> None:
    """Move orders locked in `from_status` to `to`: the move checked against ORDER_TRANSITIONS once, the
    orders written by one UPDATE … FROM, their events sealed as `events_append` seals them and appended
    at once. Only for moves whose writes are all they do (not back to ready, not cancelled)."""
    if to not in ORDER_TRANSITIONS[from_status] or to in (Status.READY, Status.CANCELLED):
        raise TransitionError(f"Orders cannot move from {from_status} to {to} in bulk.")
    rows = [(move.order_id, *move.writes) for move in moves]
    rows_update(Order, ("id", *MOVE_WRITES[to]), rows, status=to, updated_at=at)
    event_type = f"order.{to}"
    entries_append(
        [
            Entry(move.order_id, move.merchant_id, event_type, at, actor.label, from_status, to, move.details)
            for move in moves
        ],
        actor=actor,
    )


def entries_append(entries: list[Entry], *, actor: Actor) -> None:
    """`events_append` for plain entries: the same seals (one look-up), one COPY on PostgreSQL (one bulk
    INSERT elsewhere), the same webhooks in this transaction. The caller holds the orders' row locks."""
    if not entries:
        return
    last = _last_seals_of([entry.order_id for entry in entries])
    digests = {}  # entries alike but for their order (and previous seal) share the rest of their seal's form
    for entry in entries:
        alike = _alike(entry)
        digest = digests.get(alike) or digests.setdefault(alike, digester(entry))
        entry.prev_hash = last.get(entry.order_id, "")
        entry.hash = last[entry.order_id] = digest(entry.order_id, entry.prev_hash)
    actor_id = actor.user.pk if actor.user else None
    if connection.vendor == "postgresql":
        _copy_events(entries, actor_id)
    else:
        rows = (_event_row(entry, actor_id) for entry in entries)
        OrderEvent.objects.bulk_create(OrderEvent(**dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows)
    webhooks_from_seals(entries, merchant_of={entry.order_id: entry.merchant_id for entry in entries})


def _alike(entry: Entry) -> tuple:
    """What entries alike but for their order and seals (a batch's moves into one window) have in common."""
    return (
        entry.type,
        entry.occurred_at,
        entry.actor_label,
        entry.from_status,
        entry.to_status,
        entry.latitude,
        entry.longitude,
        id(entry.details),
    )


# The order first and the seals last: the columns between are those `_alike` entries share.
EVENT_COLUMNS = ("order_id", "type", "occurred_at", "actor_id", "actor_label", "from_status", "to_status")
EVENT_COLUMNS += ("latitude", "longitude", "details", "prev_hash", "hash")


def _event_row(entry: Entry, actor_id: int | None) -> tuple:
    """An entry as the values of EVENT_COLUMNS."""
    return (
        entry.order_id,
        entry.type,
        entry.occurred_at,
        actor_id,
        entry.actor_label,
        entry.from_status,
        entry.to_status,
        entry.latitude,
        entry.longitude,
        entry.details,
        entry.prev_hash,
        entry.hash,
    )


def _last_seals_of(order_ids: list[int]) -> dict[int, str]:
    """`_last_seals`, with the ids sent as one array on PostgreSQL: thousands of ids cost nothing to send."""
    if connection.vendor != "postgresql":
        return _last_seals(set(order_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT o.id, {_head('o')} FROM unnest(%s::bigint[]) AS o (id)", [array_text(set(order_ids))])
        return {order_id: last for order_id, last in cursor.fetchall() if last is not None}


def _copy_events(entries: list[Entry], actor_id: int | None) -> None:
    """COPY the entries into the events table, the fastest way PostgreSQL takes rows in, as the text COPY reads.
    Entries alike (`_alike`) share the text of every column but their order and seals, made once: psycopg
    formatting each row's twelve values was the assignment's largest step in Python (0.6 of 3.4 s)."""
    shared: dict[tuple, str] = {}
    lines = []
    for entry in entries:
        alike = _alike(entry)
        if (middle := shared.get(alike)) is None:
            between = zip(EVENT_COLUMNS[1:-2], _event_row(entry, actor_id)[1:-2], strict=True)
            texts = [json.dumps(value) if column == "details" else value for column, value in between]
            middle = shared[alike] = "\t".join(map(copy_text, texts))
        # Order ids are ints and seals hexadecimal: nothing in them to escape.
        lines.append(f"{entry.order_id}\t{middle}\t{entry.prev_hash}\t{entry.hash}\n")
    table = OrderEvent._meta.db_table
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
        copy.write("".join(lines))
