"""The pickup window's lifecycle: the one table of moves, the move function, and its bookings.

Only this module assigns `PickupWindow.status` and `booked_packages`; every move appends a
`WindowEvent` (who, when, from, to, why). Callers lock the window row first.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, F, QuerySet

from common.actors import Actor
from common.bulk import rows_update
from common.errors import TransitionError

from .models import Package, PickupWindow, WindowEvent

Status = PickupWindow.Status

# open → offered → accepted → in_progress → completed; missed when nobody came; cancelled while
# empty when no store is open during it any more (and open again when one is).
WINDOW_TRANSITIONS = {
    Status.OPEN: {Status.OFFERED, Status.MISSED, Status.CANCELLED},
    Status.OFFERED: {Status.ACCEPTED, Status.MISSED},
    Status.ACCEPTED: {Status.IN_PROGRESS, Status.OFFERED, Status.MISSED},  # offered again: the driver gave it back
    Status.IN_PROGRESS: {Status.COMPLETED},
    Status.COMPLETED: set(),
    Status.MISSED: set(),
    Status.CANCELLED: {Status.OPEN},
}

# The time each move stamps on the window.
STAMPS = {Status.ACCEPTED: "accepted_at", Status.IN_PROGRESS: "arrived_at", Status.COMPLETED: "completed_at"}

REFUSALS = {
    Status.OPEN: "has no offers out yet",
    Status.OFFERED: "is still looking for a driver",
    Status.ACCEPTED: "has a driver who has not arrived yet",
    Status.IN_PROGRESS: "has its driver on site",
    Status.COMPLETED: "is finished",
    Status.MISSED: "was missed",
    Status.CANCELLED: "is cancelled",
}


def window_move(
    window: PickupWindow,
    *,
    to: str,
    actor: Actor,
    at: datetime,
    reason: str = "",
    details: dict | None = None,
    **changes,
) -> WindowEvent:
    """Move one locked window: check the table, stamp the time, save only the fields that change,
    append the event. `changes` are other fields the move sets (the driver, the next wave)."""
    check_window_move(window, to)
    event = _event(window, to, actor, at, reason, details)
    stamp = STAMPS.get(to)
    if stamp:
        changes[stamp] = at
    window.status = to
    for name, value in changes.items():
        setattr(window, name, value)
    window.save(update_fields=["status", *changes])
    event.save()
    return event


def check_window_move(window: PickupWindow, to: str) -> None:
    if to not in WINDOW_TRANSITIONS[window.status]:
        raise TransitionError(f"This pickup {REFUSALS[window.status]}, so it cannot become {Status(to).label.lower()}.")


def windows_move(windows: QuerySet[PickupWindow], *, to: str, actor: Actor, at: datetime, reason: str) -> int:
    """Move many windows alike (planning cancels or reopens a site's empty ones): rows locked in id
    order, those the table allows moved in one UPDATE, one event each. Returns how many moved."""
    movable = [
        window for window in windows.select_for_update().order_by("pk") if to in WINDOW_TRANSITIONS[window.status]
    ]
    PickupWindow.objects.filter(pk__in=[window.pk for window in movable]).update(status=to)
    WindowEvent.objects.bulk_create(_event(window, to, actor, at, reason, None) for window in movable)
    return len(movable)


def windows_save_bookings(windows: Iterable) -> None:
    """Write the bookings assignment made on locked windows (its `OpenWindow`s: `pk` and `booked_packages`) in one
    statement (the database refuses overbooking)."""
    rows_update(PickupWindow, ("id", "booked_packages"), [(window.pk, window.booked_packages) for window in windows])


def windows_release_capacity(*, order_ids: list[int]) -> None:
    """Give back the room that these orders' packages hold in their windows.

    Call it before the orders leave their window: it reads which window each is in. One
    counting query and one UPDATE per window, whatever the number of orders.
    """
    if not order_ids:
        return
    held = (
        Package.objects.filter(order_id__in=order_ids, order__pickup_window__isnull=False)
        .values_list("order__pickup_window")
        .annotate(count=Count("pk"))
    )
    for window_id, count in held:
        PickupWindow.objects.filter(pk=window_id).update(booked_packages=F("booked_packages") - count)


def _event(window, to, actor: Actor, at, reason, details) -> WindowEvent:
    return WindowEvent(
        window=window,
        occurred_at=at,
        actor=actor.user,
        actor_label=actor.label,
        from_status=window.status,
        to_status=to,
        reason=reason,
        details=details or {},
    )
