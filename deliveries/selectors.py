"""What a driver may see: only the offers made to them and the windows they accepted."""

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from common.compiled import CompiledRead, columns, instance
from common.ids import object_id
from merchants.models import Site, Store
from pickups.models import Order, PickupWindow

from .models import Driver, Offer

ON_BOARD = [Order.Status.SCHEDULED, Order.Status.PICKED_UP]


# Read by every request of a driver, and by every one of fifty drivers racing for a pickup: compiled once.
_driver_of_user = CompiledRead(
    lambda user_id: Driver.objects.filter(user_id=user_id).values(*columns(Driver)), user_id=-1
)
_offer_of_driver = CompiledRead(
    lambda driver_id, pk: Offer.objects.filter(driver_id=driver_id, pk=pk).values(
        *columns(Offer), *columns(PickupWindow, "window__"), *columns(Site, "window__site__")
    ),
    driver_id=-1,
    pk=-2,
)


def driver_for_user(user) -> Driver | None:
    if not user.is_authenticated:
        return None
    rows = _driver_of_user(user_id=user.pk)
    if not rows:
        return None
    driver = instance(Driver, rows[0])
    driver.user = user
    return driver


def open_offers(driver: Driver) -> QuerySet[Offer]:
    """Offers the driver can still answer, with the facts that decide whether it pays."""
    return (
        Offer.objects.filter(driver=driver, status=Offer.Status.OPEN, expires_at__gt=timezone.now())
        .select_related("window__site")
        .annotate(stops=Count("window__orders__store", distinct=True, filter=Q(window__orders__status__in=ON_BOARD)))
        .order_by("window__starts_at")
    )


def offer_for_driver(*, driver: Driver, pk: int | str) -> Offer:
    """The driver's own offer with its window and site; 404 for anyone else's."""
    rows = _offer_of_driver(driver_id=driver.pk, pk=object_id(pk))
    if not rows:
        raise Http404("No such offer.")
    offer = instance(Offer, rows[0])
    offer.window = instance(PickupWindow, rows[0], prefix="window__")
    offer.window.site = instance(Site, rows[0], prefix="window__site__")
    return offer


def windows_for_driver(driver: Driver) -> QuerySet[PickupWindow]:
    """The driver's accepted and started windows, with their manifests."""
    return driver_windows(driver).filter(status__in=[PickupWindow.Status.ACCEPTED, PickupWindow.Status.IN_PROGRESS])


def driver_windows(driver: Driver) -> QuerySet[PickupWindow]:
    """Every window the driver took, with each order still on board, its store and its packages."""
    return (
        PickupWindow.objects.filter(driver=driver)
        .select_related("site")
        .prefetch_related(
            Prefetch(
                "orders",
                Order.objects.filter(status__in=ON_BOARD).select_related("store").prefetch_related("packages"),
            )
        )
        .order_by("starts_at")
    )


def window_for_driver(*, driver: Driver, pk: int | str) -> PickupWindow:
    return get_object_or_404(windows_for_driver(driver), pk=object_id(pk))


@dataclass
class Stop:
    """One store of a window's manifest, with its orders and how many of its parcels are collected."""

    store: Store
    orders: list[Order] = field(default_factory=list)
    packages: int = 0
    collected: int = 0
    code: str = ""  # the store code the driver last entered here, to fill the page in again


def manifest(window: PickupWindow) -> list[Stop]:
    """The stops of a window: each store with its orders and how many parcels are collected."""
    return stops_of(
        window.orders.all(),
        done=lambda package, order: package.collected_at is not None or order.status != Order.Status.SCHEDULED,
    )


def stops_of(orders, *, done) -> list[Stop]:
    """Orders grouped by store, in unit order, counting the parcels for which `done(package, order)`
    holds (from prefetched rows)."""
    stops: dict[int, Stop] = {}
    for order in orders:
        stop = stops.setdefault(order.store_id, Stop(store=order.store))
        stop.orders.append(order)
        for package in order.packages.all():
            stop.packages += 1
            stop.collected += done(package, order)
    return sorted(stops.values(), key=lambda stop: (stop.store.unit, stop.store.name))


def orders_of_driver(driver: Driver) -> QuerySet[Order]:
    """Every order that went through the driver's hands (their windows), whatever its status now."""
    return Order.objects.filter(pickup_window__driver=driver).select_related("store__site")


def orders_in_care(driver: Driver) -> QuerySet[Order]:
    """Orders the driver has collected and not yet handed on."""
    return (
        Order.objects.filter(pickup_window__driver=driver, status=Order.Status.PICKED_UP)
        .select_related("store__site", "pickup_window__site")
        .prefetch_related("packages")
        .order_by("pickup_window__starts_at", "pk")
    )


def orders_to_return(driver: Driver) -> QuerySet[Order]:
    """The driver's failed deliveries, which must go back over their store's counter."""
    return (
        Order.objects.filter(pickup_window__driver=driver, status=Order.Status.DELIVERY_FAILED)
        .select_related("store__site")
        .prefetch_related("packages")
        .order_by("store__name", "pk")
    )
