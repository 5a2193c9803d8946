"""Tenant-scoped reads of orders: every order a view touches is fetched here."""

import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import partial, reduce
from operator import or_

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from common.compiled import CompiledRead, columns, instance
from common.ids import object_id
from common.timezones import local_today
from merchants.models import Merchant, Site, Store
from notifications.models import Notification

from .models import CODE_ALPHABET, TRACKING_CODE_LENGTH, Order, OrderEvent, OrderImport, Package, PickupWindow
from .order_locks import compiled_lock


def orders_with_details() -> QuerySet[Order]:
    """Orders with what their API representation shows: store, site, window, packages."""
    return Order.objects.select_related("store__site", "pickup_window").prefetch_related("packages")


def orders_for_merchant(merchant: Merchant) -> QuerySet[Order]:
    return orders_with_details().filter(merchant=merchant)


# The columns of an order's API answer (pickups.api.representation), store, site and window included.
ORDER_SHOWN = (
    *("id", "status", "attempt", "tracking_code", "store_id", "store__name", "store__site__name", "external_id"),
    *("service_level", "customer_name", "customer_phone", "customer_email", "address_line1", "address_line2"),
    *("city", "state", "postal_code", "latitude", "longitude", "notes", "distance_miles", "created_at"),
    *("ready_at", "quote_id", "not_scheduled_reason", "cancelled_at", "cancel_reason", "pickup_window_id"),
    *("pickup_window__status", "pickup_window__starts_at", "pickup_window__ends_at"),
    *("pickup_window__driver_name", "pickup_window__driver_vehicle"),
)
PACKAGE_SHOWN = ("order_id", "sequence", "label_code", "weight_lb", "length_in", "width_in", "height_in")


def merchant_orders(merchant: Merchant) -> QuerySet[Order]:
    """The merchant's orders, nothing joined: to filter and page, then read with `orders_with_packages`."""
    return Order.objects.filter(merchant=merchant)


def orders_with_packages(merchant: Merchant, ids: list[int]) -> list[dict]:
    """The merchant's orders `ids` as rows of ORDER_SHOWN, in that order, each with `packages`, its rows of
    PACKAGE_SHOWN in sequence: two compiled queries. (Joined with their packages, a page's orders would come
    once per package, and loading their columns twice costs more than a second query.)"""
    if not ids:
        return []
    shown = {row["id"]: row for row in _orders_shown(merchant_id=merchant.pk, ids=ids)}
    packages = packages_shown(list(shown))
    rows = [shown[pk] for pk in ids if pk in shown]  # gone since the ids were read: left out
    for row in rows:
        row["packages"] = packages.get(row["id"], [])
    return rows


_orders_shown = CompiledRead(
    lambda merchant_id, ids: Order.objects.filter(merchant_id=merchant_id, pk__in=ids).order_by().values(*ORDER_SHOWN),
    merchant_id=-1,
    ids=[-1000],  # from -1000 down: never the merchant sample
)


def _orders_joined(orders: QuerySet[Order]) -> QuerySet:
    """One order (or a few) joined with its packages: one query, one row per package."""
    ordering = orders.query.order_by or Order._meta.ordering
    return orders.order_by(*ordering, "packages__sequence").values(
        *ORDER_SHOWN, *(f"packages__{name}" for name in PACKAGE_SHOWN[1:])
    )


def _orders_folded(joined) -> list[dict]:
    """Rows of orders joined with their packages, one order per row of ORDER_SHOWN with its `packages`."""
    shown: dict[int, dict] = {}
    for row in joined:
        order = shown.get(row["id"])
        if order is None:
            order = shown[row["id"]] = {name: row[name] for name in ORDER_SHOWN} | {"packages": []}
        if row["packages__sequence"] is not None:  # null for an order without packages (outer join)
            package = {name: row[f"packages__{name}"] for name in PACKAGE_SHOWN[1:]}
            order["packages"].append(package | {"order_id": row["id"]})
    return list(shown.values())


# The API's most frequent read, compiled once (common.compiled).
_order_shown = CompiledRead(
    lambda merchant_id, pk: _orders_joined(Order.objects.filter(merchant_id=merchant_id, pk=pk)), merchant_id=-1, pk=-2
)


def order_shown(*, merchant: Merchant, pk) -> dict:
    """The merchant's own order as a row of ORDER_SHOWN with its `packages`, or 404 for anyone else's."""
    rows = _orders_folded(_order_shown(merchant_id=merchant.pk, pk=object_id(pk)))
    if not rows:
        raise Http404("No such order.")
    return rows[0]


# The API's moves of one order (ready, collected, cancel, edit): their locked read, compiled (pickups.order_locks).
_order_to_move = compiled_lock(
    lambda merchant_id, pk: Order.objects.filter(merchant_id=merchant_id, pk=pk),
    related=("store__site", "pickup_window"),
    merchant_id=-1,
    pk=-2,
)


def order_to_move(*, merchant: Merchant, pk) -> Callable[[], list[Order]]:
    """The merchant's own order `pk` (none for anyone else's) with what its API answer shows, as the locked
    read a move runs: the one read scopes it, locks it and loads the answer."""
    return partial(_order_to_move, merchant_id=merchant.pk, pk=object_id(pk))


EVENT_SHOWN = (
    *("id", "type", "occurred_at", "actor_label", "from_status", "to_status", "latitude", "longitude", "details"),
)


_order_events_shown = CompiledRead(
    lambda merchant_id, pk: (
        OrderEvent.objects.filter(order_id=pk, order__merchant_id=merchant_id)
        .order_by("occurred_at", "id")
        .values(*EVENT_SHOWN)
    ),
    merchant_id=-1,
    pk=-2,
)


def order_events_shown(*, merchant: Merchant, pk) -> list[dict]:
    """The ledger of the merchant's own order as rows of EVENT_SHOWN, oldest first; 404 for anyone else's.
    One query (a second only for an order without events)."""
    pk = object_id(pk)
    rows = _order_events_shown(merchant_id=merchant.pk, pk=pk)
    if not rows and not Order.objects.filter(pk=pk, merchant=merchant).exists():
        raise Http404("No such order.")
    return rows


_packages_shown = CompiledRead(
    lambda order_ids: (
        Package.objects.filter(order_id__in=order_ids).order_by("order_id", "sequence").values(*PACKAGE_SHOWN)
    ),
    order_ids=[-1],
)


def packages_shown(order_ids) -> dict[int, list[dict]]:
    """{order id: its packages as rows of PACKAGE_SHOWN, in sequence}, in one query."""
    packages: dict[int, list[dict]] = {}
    for row in _packages_shown(order_ids=list(order_ids)):
        packages.setdefault(row["order_id"], []).append(row)
    return packages


def order_for_merchant(*, merchant: Merchant, pk: int) -> Order:
    """The merchant's own order, or 404 for anyone else's."""
    return get_object_or_404(orders_for_merchant(merchant), pk=pk)


def order_status_for_merchant(*, merchant: Merchant, pk) -> Order:
    """The merchant's own order with its store, site and pickup window (what the order page's pickup block
    shows), in one query; 404 for anyone else's."""
    orders = Order.objects.filter(merchant=merchant).select_related("store__site", "pickup_window")
    return get_object_or_404(orders, pk=object_id(pk))


def proof_event(user, *, order_pk: int, event_pk: int) -> OrderEvent:
    """A delivery event with a photo, if the user is one of the order's merchant's team or a program
    admin; 404 for everyone else."""
    events = OrderEvent.objects.filter(
        pk=object_id(event_pk), order_id=object_id(order_pk), type="order.delivered"
    ).exclude(details__photo="")
    if not user.is_staff:
        events = events.filter(order__merchant__memberships__user=user)
    return get_object_or_404(events.filter(details__has_key="photo"))


def orders_search(orders: QuerySet[Order], text: str) -> QuerySet[Order]:
    text = text.strip()
    if not text:
        return orders
    return orders.filter(
        Q(external_id__icontains=text) | Q(tracking_code__iexact=text) | Q(customer_name__icontains=text)
    )


# Public tracking is read by every customer, often: both reads compiled once (common.compiled).
_tracked_order = CompiledRead(
    lambda code: Order.objects.filter(tracking_code=code).values(
        *columns(Order), *columns(Store, "store__"), *columns(Site, "store__site__")
    ),
    code="sample code",
)
_tracked_events = CompiledRead(
    lambda order_id: (
        OrderEvent.objects.filter(order_id=order_id).order_by("occurred_at", "id").values(*columns(OrderEvent))
    ),
    order_id=-1,
)


def order_for_tracking(tracking_code: str) -> Order:
    """Anyone's order by its tracking code (public tracking), with its store, site and `timeline`: its events
    in time order. Anything that cannot be a code (wrong length or characters, a NUL byte PostgreSQL
    refuses) is simply not found."""
    code = tracking_code.strip().upper()
    if len(code) != TRACKING_CODE_LENGTH or not set(code) <= set(CODE_ALPHABET):
        raise Http404("No parcel has this tracking code.")
    rows = _tracked_order(code=code)
    if not rows:
        raise Http404("No parcel has this tracking code.")
    order = instance(Order, rows[0])
    order.store = instance(Store, rows[0], prefix="store__")
    order.store.site = instance(Site, rows[0], prefix="store__site__")
    order.timeline = [instance(OrderEvent, row) for row in _tracked_events(order_id=order.pk)]
    return order


def order_counts_today(merchant: Merchant, stores: list[Store]) -> dict[str, int]:
    """Orders created today, by status, where "today" is each store's own local day. One query."""
    zones = {store.site.timezone for store in stores}
    if not zones:
        return {}
    today = reduce(or_, (_local_days(zone, local_today(zone), local_today(zone)) for zone in zones))
    rows = Order.objects.filter(today, merchant=merchant).values("status").annotate(count=Count("id"))
    return {row["status"]: row["count"] for row in rows}


def orders_created(orders: QuerySet[Order], *, after: date | None, before: date | None) -> QuerySet[Order]:
    """Orders created from `after` to `before` (inclusive), each day being the store's local day."""
    zones = Site.objects.filter(stores__in=orders.values("store")).values_list("timezone", flat=True).distinct()
    return orders.filter(reduce(or_, (_local_days(zone, after, before) for zone in zones), Q(pk__in=[])))


def _local_days(zone_name: str, first: date | None, last: date | None) -> Q:
    """Orders of stores in that zone created between local midnight of `first` and the end of `last`."""
    zone = zoneinfo.ZoneInfo(zone_name)
    condition = Q(store__site__timezone=zone_name)
    if first is not None:
        condition &= Q(created_at__gte=datetime.combine(first, time(0), tzinfo=zone))
    if last is not None:
        condition &= Q(created_at__lt=datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone))
    return condition


def order_import_for_merchant(*, merchant: Merchant, pk: int) -> OrderImport:
    return get_object_or_404(OrderImport.objects.filter(merchant=merchant).defer("content"), pk=pk)


def windows_for_merchant(merchant: Merchant) -> QuerySet[PickupWindow]:
    """Today's and upcoming windows holding the merchant's orders, with only those orders."""
    since = timezone.now() - timedelta(hours=12)
    mine = Order.objects.filter(merchant=merchant).select_related("store").prefetch_related("packages")
    return (
        PickupWindow.objects.filter(orders__merchant=merchant, ends_at__gte=since)
        .distinct()
        .select_related("site")
        .prefetch_related(Prefetch("orders", mine))
        .order_by("starts_at", "pk")
    )


def merchant_sites(merchant: Merchant) -> QuerySet[Site]:
    """The sites of the merchant's stores (active or not: a closed store's orders may still be picked up)."""
    return Site.objects.filter(stores__merchant=merchant).distinct().order_by("name", "pk")


def merchant_windows_on(merchant: Merchant, days: dict[int, date]) -> QuerySet[PickupWindow]:
    """The windows of each site (by id) on its local day `days[site]` that hold the merchant's orders, in time
    order, each with only those orders in `my_orders` (with their store, and `package_count`). Two queries."""
    mine = Order.objects.filter(merchant=merchant)
    on_days = reduce(or_, (Q(site_id=site, local_date=day) for site, day in days.items()), Q(pk__in=[]))
    orders = mine.select_related("store").annotate(package_count=Count("packages")).order_by("store__name", "pk")
    return (
        PickupWindow.objects.filter(on_days, Exists(mine.filter(pickup_window=OuterRef("pk"))))
        .prefetch_related(Prefetch("orders", orders, to_attr="my_orders"))
        .order_by("starts_at", "pk")
    )


def merchant_orders_per_day(merchant: Merchant, firsts: dict[int, date], days: int) -> dict[tuple[int, date], int]:
    """{(site id, local day): the merchant's orders in that site's windows that day}, for `days` days from each
    site's `firsts[site]`. One query."""
    spans = (
        Q(pickup_window__site_id=site, pickup_window__local_date__range=(first, first + timedelta(days=days - 1)))
        for site, first in firsts.items()
    )
    rows = (
        Order.objects.filter(reduce(or_, spans, Q(pk__in=[])), merchant=merchant)
        .order_by()
        .values_list("pickup_window__site_id", "pickup_window__local_date")
        .annotate(count=Count("id"))
    )
    return {(site, day): count for site, day, count in rows}


def handoff_windows(store: Store, today: date) -> QuerySet[PickupWindow]:
    """The site's windows of the local day `today`, and one a driver is at the counter for whatever its day
    (arrived before midnight for a window after it), holding orders of this store (any status), each with
    only this store's orders and their packages in `store_orders`, and its parcel counts. Three queries."""
    of_store = Order.objects.filter(pickup_window=OuterRef("pk"), store=store)
    packages = Q(orders__store=store)
    handed_over = [status for status in Order.Status.values if status != Order.Status.SCHEDULED]
    collected = packages & (Q(orders__packages__collected_at__isnull=False) | Q(orders__status__in=handed_over))
    orders = Order.objects.filter(store=store).prefetch_related("packages").order_by("pk")
    return (
        PickupWindow.objects.filter(Exists(of_store), site_id=store.site_id)
        .filter(Q(local_date=today) | Q(status=PickupWindow.Status.IN_PROGRESS))
        .annotate(
            store_packages=Count("orders__packages", filter=packages),
            store_collected=Count("orders__packages", filter=collected),
        )
        .prefetch_related(Prefetch("orders", orders, to_attr="store_orders"))
        .order_by("starts_at", "pk")
    )


def orders_left_behind(store: Store, since: datetime) -> QuerySet[Order]:
    """Orders of the store a driver left at its counter since `since` that still wait for a pickup
    (ready, or scheduled again), with `left_at`, their next window and their packages."""
    left = OrderEvent.objects.filter(order=OuterRef("pk"), type="order.left_behind", occurred_at__gte=since)
    return (
        Order.objects.filter(store=store, status__in=[Order.Status.READY, Order.Status.SCHEDULED])
        .annotate(left_at=Subquery(left.order_by("-occurred_at").values("occurred_at")[:1]))
        .filter(left_at__isnull=False)
        .select_related("pickup_window")
        .prefetch_related("packages")
        .order_by("-left_at", "-pk")
    )


def store_notices(store: Store, since: datetime, limit: int = 5) -> QuerySet[Notification]:
    """The store's in-app notices (a driver arrived, parcels left behind) since `since`, newest first."""
    return Notification.objects.filter(
        channel=Notification.Channel.IN_APP, recipient=store.notice_recipient, created_at__gte=since
    ).order_by("-created_at", "-pk")[:limit]
