"""A driver's delivery run: the orders in their care, in route order, with miles and arrival estimates.

The run is planned afresh each time it is asked for, from where the driver last handed a parcel
over (or the site they collected at) and from now, so ETAs follow the driver through the day.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from common.actors import Actor
from common.tasks import enqueue_on_commit
from pickups.customer_messages import customers_tell
from pickups.ledger import orders_note
from pickups.models import Order, OrderEvent, PickupWindow

from .models import Driver
from .routing import Stop, plan_route
from .selectors import orders_in_care

# A handoff older than this does not tell where the driver is now.
RECENT = timedelta(hours=3)
# The arrival window a customer is told: from a little before the estimate to a while after, on 5 minutes.
EARLY, LATE = timedelta(minutes=15), timedelta(minutes=30)


@dataclass(frozen=True)
class RunStop:
    order: Order
    miles: float  # from the previous stop (or the start)
    arrives_at: datetime


@dataclass(frozen=True)
class Run:
    start: tuple[Decimal, Decimal] | None
    start_label: str  # where the run starts, in words
    stops: list[RunStop]
    total_miles: float
    engine: str  # what chose the order: "vroom" or "fallback"


def driver_run(*, driver: Driver, now: datetime) -> Run:
    """The driver's parcels in the order to deliver them. A fixed few queries whatever the size."""
    orders = list(orders_in_care(driver))
    if not orders:
        return Run(start=None, start_label="", stops=[], total_miles=0.0, engine="")
    start, label = _where_driver_is(driver, orders, now)
    route = plan_route(
        start=start,
        stops=[Stop(key=order.pk, latitude=order.latitude, longitude=order.longitude) for order in orders],
        departs_at=now,
    )
    by_id = {order.pk: order for order in orders}
    stops = [RunStop(order=by_id[leg.key], miles=leg.miles, arrives_at=leg.arrives_at) for leg in route.legs]
    return Run(start=start, start_label=label, stops=stops, total_miles=route.total_miles, engine=route.engine)


def _where_driver_is(driver: Driver, orders: list[Order], now: datetime) -> tuple[tuple[Decimal, Decimal], str]:
    """The place of the driver's latest delivery or failed attempt, if recent; else the site of their
    latest pickup."""
    last = (
        OrderEvent.objects.filter(
            actor=driver.user,
            type__in=["order.delivered", "order.delivery_failed"],
            latitude__isnull=False,
            occurred_at__gte=now - RECENT,
        )
        .order_by("-occurred_at", "-id")
        .first()
    )
    if last is not None:
        return (last.latitude, last.longitude), "your last stop"
    site = max(orders, key=lambda order: order.pickup_window.starts_at).pickup_window.site
    return (site.latitude, site.longitude), site.name


def run_announce_soon(window: PickupWindow) -> None:
    """The visit just ended: announce its parcels from a worker (and the sweep, if that task is lost)."""
    if window.status == PickupWindow.Status.COMPLETED:
        enqueue_on_commit("deliveries.tasks.announce_run", window_id=window.pk)


@transaction.atomic
def run_announce(*, window_id: int, now: datetime) -> list[Order]:
    """The parcels collected in the window are out for delivery: a ledger note with the arrival window
    from the driver's run, and a message to each customer. Safe to run twice: an order announced for
    this window is left alone."""
    window = PickupWindow.objects.select_related("driver__user").get(pk=window_id)
    if window.driver is None:
        return []
    announced = OrderEvent.objects.filter(
        order__pickup_window=window, type="order.out_for_delivery", details__window=window.pk
    ).values("order_id")
    fresh = set(
        Order.objects.select_for_update()
        .filter(pickup_window=window, status=Order.Status.PICKED_UP)
        .exclude(pk__in=announced)
        .values_list("pk", flat=True)
    )
    stops = [stop for stop in driver_run(driver=window.driver, now=now).stops if stop.order.pk in fresh]
    etas = {stop.order.pk: (_floor(stop.arrives_at - EARLY), _ceil(stop.arrives_at + LATE)) for stop in stops}
    orders = [stop.order for stop in stops]
    for order in orders:
        eta_from, eta_to = etas[order.pk]
        orders_note(
            orders=[order],
            type="order.out_for_delivery",
            actor=Actor.of_driver(window.driver.user),
            at=now,
            details={"window": window.pk, "eta_from": eta_from.isoformat(), "eta_to": eta_to.isoformat()},
        )
    customers_tell(
        orders=orders,
        what="out_for_delivery",
        details={pk: {"eta_from": eta_from, "eta_to": eta_to} for pk, (eta_from, eta_to) in etas.items()},
    )
    return orders


def _floor(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def _ceil(moment: datetime) -> datetime:
    floor = _floor(moment)
    return floor if floor == moment else floor + timedelta(minutes=5)


def windows_unannounced(*, now: datetime) -> list[int]:
    """Windows finished in the last hours whose collected parcels were never announced (the task sent
    when the visit ended was lost): the sweep announces them."""
    announced = OrderEvent.objects.annotate(window=KT("details__window")).filter(
        type="order.out_for_delivery", window=Cast(OuterRef("pickup_window_id"), CharField())
    )
    return list(
        Order.objects.filter(
            status=Order.Status.PICKED_UP,
            pickup_window__status=PickupWindow.Status.COMPLETED,
            pickup_window__completed_at__gte=now - RECENT,
            pickup_window__completed_at__lte=now - timedelta(minutes=2),
        )
        .exclude(Exists(announced.filter(order=OuterRef("pk"))))
        .values_list("pickup_window_id", flat=True)
        .distinct()
    )
