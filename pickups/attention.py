"""What needs a merchant now: orders to flag ready, the next pickup, a driver on site, parcels left at
the counter, failed deliveries coming back. Four queries whatever the number of stores and orders."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone

from merchants.models import Merchant, Store

from .models import Order, OrderEvent, PickupWindow

Status = Order.Status
Window = PickupWindow.Status
UPCOMING = [Window.OPEN, Window.OFFERED, Window.ACCEPTED, Window.IN_PROGRESS]


@dataclass
class Pickup:
    """A window holding the merchant's parcels still to collect, with the merchant's stores at its site."""

    window: PickupWindow
    orders: int
    packages: int
    stores: list[Store]
    starts_in: str  # "in 1 h 5 min", "started 10 min ago"


@dataclass
class Attention:
    to_flag: int = 0  # created, not ready yet
    unscheduled: int = 0  # ready, and the assignment said why it found no window
    failed: int = 0  # delivery failed: the parcel is coming back to the store
    returned: int = 0  # back at the store: send it again, hand it over in the store, or cancel
    on_site: list[Pickup] = field(default_factory=list)
    next_pickup: Pickup | None = None
    left_behind: list[tuple[Store, int]] = field(default_factory=list)  # today, each store's local day

    @property
    def anything(self) -> bool:
        return bool(
            self.to_flag or self.unscheduled or self.failed or self.returned or self.on_site or self.left_behind
        )


def attention_for(merchant: Merchant, stores: list[Store], *, now: datetime | None = None) -> Attention:
    """The merchant's to-dos now (`stores` are the merchant's, with their sites)."""
    now = now or timezone.now()
    counts = Order.objects.filter(merchant=merchant).aggregate(
        to_flag=Count("pk", filter=Q(status=Status.CREATED)),
        unscheduled=Count("pk", filter=Q(status=Status.READY) & ~Q(not_scheduled_reason="")),
        failed=Count("pk", filter=Q(status=Status.DELIVERY_FAILED)),
        returned=Count("pk", filter=Q(status=Status.RETURNED)),
    )
    attention = Attention(**counts)
    pickups = [_pickup(window, stores, now) for window in _windows(merchant, now)]
    attention.on_site = [pickup for pickup in pickups if pickup.window.status == Window.IN_PROGRESS]
    attention.next_pickup = next((p for p in pickups if p.window.status != Window.IN_PROGRESS), None)
    attention.left_behind = _left_behind(merchant, stores, now)
    return attention


def _windows(merchant: Merchant, now: datetime):
    """Windows not over yet (or with the driver still on site) holding the merchant's scheduled orders."""
    mine = Q(orders__merchant=merchant, orders__status=Status.SCHEDULED)
    waiting = Order.objects.filter(pickup_window=OuterRef("pk"), merchant=merchant, status=Status.SCHEDULED)
    return (
        PickupWindow.objects.filter(Exists(waiting), status__in=UPCOMING)
        .filter(Q(status=Window.IN_PROGRESS) | Q(ends_at__gt=now))
        .annotate(
            my_orders=Count("orders", filter=mine, distinct=True), my_packages=Count("orders__packages", filter=mine)
        )
        .select_related("site")
        .order_by("starts_at", "pk")
    )


def _pickup(window: PickupWindow, stores: list[Store], now: datetime) -> Pickup:
    return Pickup(
        window=window,
        orders=window.my_orders,
        packages=window.my_packages,
        stores=[store for store in stores if store.site_id == window.site_id],
        starts_in=relative(window.starts_at, now),
    )


def _left_behind(merchant: Merchant, stores: list[Store], now: datetime) -> list[tuple[Store, int]]:
    """Per store, orders a driver left at its counter today (the store's local day) still waiting for a
    pickup: what the store's Handoff page lists."""
    zones = {store.site.timezone for store in stores}
    if not zones:
        return []
    left = OrderEvent.objects.filter(order=OuterRef("pk"), type="order.left_behind").order_by("-occurred_at")
    today = reduce(or_, (Q(store__site__timezone=zone, left_at__gte=_midnight(zone, now)) for zone in zones))
    counts = dict(
        Order.objects.filter(merchant=merchant, status__in=[Status.READY, Status.SCHEDULED])
        .annotate(left_at=Subquery(left.values("occurred_at")[:1]))
        .filter(today)
        .values("store_id")
        .annotate(count=Count("pk"))
        .values_list("store_id", "count")
    )
    return [(store, counts[store.pk]) for store in stores if counts.get(store.pk)]


def _midnight(zone: str, now: datetime) -> datetime:
    tz = ZoneInfo(zone)
    return datetime.combine(timezone.localdate(now, timezone=tz), time(0), tzinfo=tz)


def relative(moment: datetime, now: datetime) -> str:
    """A moment as people say it from now: "in 1 h 5 min", "in 3 days", "started 10 min ago"."""
    ahead = moment >= now
    span = _span(abs(moment - now))
    return f"in {span}" if ahead else f"started {span} ago"


def _span(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = round(hours / 24)
    return f"{days} day{'s' if days != 1 else ''}"
