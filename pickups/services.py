"""Every write to orders: intake, and each move of an order's status with its ledger event."""

import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from common.actors import Actor
from common.errors import NotAllowedError, TransitionError
from common.tasks import enqueue_on_commit
from merchants.models import Merchant
from merchants.services import merchant_block_reason

from .csv_orders import check_rows, decode_upload
from .intake import OrderDraft, check_drafts
from .models import Order, OrderEvent, OrderImport, Package, PickupWindow

Status = Order.Status

# The only moves an order may make. A scheduled order whose pickup is missed goes back to ready.
ORDER_TRANSITIONS = {
    Status.CREATED: {Status.READY, Status.CANCELLED},
    Status.READY: {Status.SCHEDULED, Status.CANCELLED},
    Status.SCHEDULED: {Status.PICKED_UP, Status.READY, Status.CANCELLED},
    Status.PICKED_UP: {Status.DELIVERED, Status.DELIVERY_FAILED},
    Status.DELIVERY_FAILED: {Status.RETURNED},
    Status.DELIVERED: set(),
    Status.RETURNED: set(),
    Status.CANCELLED: set(),
}

# Unambiguous characters only (no 0/O, 1/I/L), so codes read aloud or typed from a label survive.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class DraftErrors(ValidationError):
    """Some drafts of a batch break the rules: {draft index: {field: [messages]}}."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]):
        self.by_index = errors
        super().__init__("Some orders are not valid.")


def new_tracking_code() -> str:
    """12 random characters (about 59 bits): not guessable, short enough to type."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))


def order_create(*, merchant: Merchant, draft: OrderDraft, actor: Actor) -> Order:
    """Create one order; a broken rule raises ValidationError keyed by field."""
    try:
        return orders_create(merchant=merchant, drafts=[draft], actor=actor)[0]
    except DraftErrors as error:
        raise ValidationError(error.by_index[0]) from None


@transaction.atomic
def orders_create(*, merchant: Merchant, drafts: list[OrderDraft], actor: Actor) -> list[Order]:
    """Create every order of a batch, or none: any broken rule raises DraftErrors for all drafts.

    A fixed number of queries whatever the batch size: bulk inserts of orders, packages, events.
    """
    if not merchant.is_approved:
        raise NotAllowedError(merchant_block_reason(merchant))
    errors = check_drafts(merchant=merchant, drafts=drafts)
    if errors:
        raise DraftErrors(errors)
    now = timezone.now()
    orders = Order.objects.bulk_create(
        Order(
            merchant=merchant,
            store=draft.store,
            external_id=draft.external_id,
            service_level=draft.service_level,
            tracking_code=new_tracking_code(),
            customer_name=draft.customer_name,
            customer_phone=draft.customer_phone,
            customer_email=draft.customer_email,
            address_line1=draft.address_line1,
            address_line2=draft.address_line2,
            city=draft.city,
            state=draft.state.upper(),
            postal_code=draft.postal_code,
            latitude=draft.latitude,
            longitude=draft.longitude,
            distance_miles=draft.distance_miles,
            notes=draft.notes,
            quote=draft.quote,
            created_by=actor.user,
        )
        for draft in drafts
    )
    Package.objects.bulk_create(
        Package(
            order=order,
            sequence=number,
            label_code=f"{order.tracking_code}{number:02d}",
            weight_lb=package.weight_lb,
            length_in=package.length_in,
            width_in=package.width_in,
            height_in=package.height_in,
        )
        for order, draft in zip(orders, drafts, strict=True)
        for number, package in enumerate(draft.packages, start=1)
    )
    OrderEvent.objects.bulk_create(
        _event(order, "order.created", actor, now, "", Status.CREATED, {"packages": len(draft.packages)})
        for order, draft in zip(orders, drafts, strict=True)
    )
    return orders


def order_mark_ready(*, order: Order, actor: Actor) -> Order:
    return order_transition(order=order, to=Status.READY, actor=actor)


def order_cancel(*, order: Order, actor: Actor, reason: str) -> Order:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the order is cancelled."})
    return order_transition(order=order, to=Status.CANCELLED, actor=actor, details={"reason": reason.strip()})


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
) -> tuple[list[Order], list[tuple[Order, str]]]:
    """Move many orders at once; returns (moved, [(refused order, why)]).

    The rows are locked in id order (so two bulk moves cannot deadlock) and the status re-read
    under the lock before each move is checked; every move appends a ledger event.
    """
    ids = sorted({order.pk for order in orders})
    locked = list(Order.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    now = timezone.now()
    moved, refused, events = [], [], []
    for order in locked:
        try:
            events.append(
                order_move(order, to=to, actor=actor, at=now, event_type=event_type, details=details, location=location)
            )
        except TransitionError as error:
            refused.append((order, str(error)))
        else:
            moved.append(order)
    _release_windows([order for order in moved if order.status == Status.CANCELLED])
    orders_save(moved, events)
    if to == Status.READY and moved:
        from .tasks import assign_orders  # tasks import this module

        enqueue_on_commit(assign_orders, order_ids=[order.pk for order in moved])
    return moved, refused


def order_move(
    order: Order, *, to: str, actor: Actor, at, event_type: str = "", details: dict | None = None, location=None
) -> OrderEvent:
    """Check one move against ORDER_TRANSITIONS and apply it to the (locked) order in memory.

    Returns the ledger event to append; the caller saves both with `orders_save`.
    """
    if to not in ORDER_TRANSITIONS[order.status]:
        raise TransitionError(
            f"Order {order.external_id} is {order.get_status_display().lower()}, "
            f"so it cannot become {Status(to).label.lower()}."
        )
    event = _event(order, event_type or f"order.{to}", actor, at, order.status, to, details or {}, location)
    order.status, order.updated_at = to, at
    if to == Status.READY:
        order.ready_at, order.pickup_window = at, None
    elif to == Status.CANCELLED:
        order.cancelled_at, order.cancel_reason = at, (details or {}).get("reason", "")
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
    OrderEvent.objects.bulk_create(events)


# What a move to each status writes besides the status and its time.
MOVE_WRITES = {
    Status.READY: ("ready_at", "pickup_window_id"),
    Status.SCHEDULED: ("pickup_window_id", "not_scheduled_reason"),
    Status.CANCELLED: ("cancelled_at", "cancel_reason", "pickup_window_id"),
}


def orders_note(*, window: PickupWindow, type: str, actor: Actor, at, details: dict, location=None) -> int:
    """Append a ledger event, without a status change, to every order scheduled in the window."""
    orders = list(Order.objects.filter(pickup_window=window, status=Status.SCHEDULED).only("pk", "status"))
    OrderEvent.objects.bulk_create(
        _event(order, type, actor, at, order.status, order.status, details, location) for order in orders
    )
    return len(orders)


def _release_windows(orders: list[Order]) -> None:
    """Give back the window capacity that cancelled orders had booked."""
    for order in orders:
        if order.pickup_window_id is not None:
            PickupWindow.objects.filter(pk=order.pickup_window_id).update(
                booked_packages=F("booked_packages") - order.packages.count()
            )
            order.pickup_window = None


def _event(order, type_, actor: Actor, at, from_status, to_status, details, location=None) -> OrderEvent:
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


@transaction.atomic
def order_import_start(*, merchant: Merchant, actor: Actor, filename: str, raw: bytes) -> OrderImport:
    """Accept an uploaded CSV and queue it for a worker; UploadError says what is wrong with the file."""
    if not merchant.is_approved:
        raise NotAllowedError(merchant_block_reason(merchant))
    text, rows = decode_upload(raw)
    job = OrderImport.objects.create(
        merchant=merchant, created_by=actor.user, filename=filename[:255], content=text, total_rows=rows
    )
    from .tasks import import_orders  # tasks import this module

    enqueue_on_commit(import_orders, import_id=job.pk)
    return job


def order_import_run(*, import_id: int) -> OrderImport:
    """Check every row, then import all of them in one transaction, or none and say why.

    Safe to run twice (a retried task): a finished import is left alone, and the final step
    locks the import row and re-checks its status before creating anything.
    """
    job = OrderImport.objects.select_related("merchant", "created_by").get(pk=import_id)
    unfinished = OrderImport.objects.filter(
        pk=job.pk, status__in=[OrderImport.Status.QUEUED, OrderImport.Status.RUNNING]
    )
    if not unfinished.update(status=OrderImport.Status.RUNNING, checked_rows=0, started_at=timezone.now()):
        return job  # finished already
    drafts, problems = check_rows(
        merchant=job.merchant,
        text=job.content,
        progress=lambda checked: OrderImport.objects.filter(pk=job.pk).update(checked_rows=checked),
    )
    actor = Actor.of_user(job.created_by) if job.created_by else Actor(user=None, label="CSV import")
    with transaction.atomic():
        job = OrderImport.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            return job
        if not problems:
            try:
                with transaction.atomic():
                    orders_create(merchant=job.merchant, drafts=drafts, actor=actor)
            except DraftErrors as error:  # the data changed since the check, e.g. an order number was taken
                problems = [
                    {"row": index + 2, "column": field, "message": message}
                    for index, fields in error.by_index.items()
                    for field, messages in fields.items()
                    for message in messages
                ]
        job.status = OrderImport.Status.FAILED if problems else OrderImport.Status.SUCCEEDED
        job.errors, job.created_count = problems, 0 if problems else len(drafts)
        job.checked_rows, job.finished_at = job.total_rows, timezone.now()
        job.save(update_fields=["status", "errors", "created_count", "checked_rows", "finished_at"])
    return job


# Longer than the task time limit: an import queued or running for longer lost its task or worker.
IMPORT_STUCK_AFTER = timedelta(minutes=5)


def order_imports_stuck() -> list[int]:
    cutoff = timezone.now() - IMPORT_STUCK_AFTER
    never_started = Q(status=OrderImport.Status.QUEUED, created_at__lt=cutoff)
    worker_lost = Q(status=OrderImport.Status.RUNNING, started_at__lt=cutoff)
    return list(OrderImport.objects.filter(never_started | worker_lost).values_list("pk", flat=True))
