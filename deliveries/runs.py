"""A driver's delivery run: the orders in their care, in route order, with miles and arrival estimates.

The run is planned afresh each time it is asked for, from where the driver last handed a parcel
over (or the site they collected at) and from now, so ETAs follow the driver through the day.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pickups.models import Order, OrderEvent

from .models import Driver
from .routing import Stop, plan_route
from .selectors import orders_in_care

# A handoff older than this does not tell where the driver is now.
RECENT = timedelta(hours=3)


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
