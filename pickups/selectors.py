"""Tenant-scoped reads of orders: every order a view touches is fetched here."""

import zoneinfo
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from common.ids import object_id
from common.timezones import local_today
from merchants.models import Merchant, Site, Store
from notifications.models import Notification

from .models import CODE_ALPHABET, TRACKING_CODE_LENGTH, Order, OrderEvent, OrderImport, PickupWindow


def orders_with_details() -> QuerySet[Order]:
    """Orders with what their API representation shows: store, site, window, packages."""
    return Order.objects.select_related("store__site", "pickup_window").prefetch_related("packages")


def orders_for_merchant(merchant: Merchant) -> QuerySet[Order]:
    return orders_with_details().filter(merchant=merchant)


def order_for_merchant(*, merchant: Merchant, pk: int) -> Order:
    """The merchant's own order, or 404 for anyone else's."""
    return get_object_or_404(orders_for_merchant(merchant), pk=pk)


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


def order_for_tracking(tracking_code: str) -> Order:
    """Anyone's order by its tracking code (public tracking), with its events; anything that cannot be a
    code (wrong length or characters, a NUL byte PostgreSQL refuses) is simply not found."""
    code = tracking_code.strip().upper()
    if len(code) != TRACKING_CODE_LENGTH or not set(code) <= set(CODE_ALPHABET):
        raise Http404("No parcel has this tracking code.")
    return get_object_or_404(
        Order.objects.select_related("store").prefetch_related(
            Prefetch("events", OrderEvent.objects.order_by("occurred_at", "id"))
        ),
        tracking_code=code,
    )


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


def handoff_windows(store: Store, today: date) -> QuerySet[PickupWindow]:
    """The site's windows of the local day `today` holding orders of this store (any status), each with
    only this store's orders and their packages in `store_orders`, and its parcel counts. Three queries."""
    of_store = Order.objects.filter(pickup_window=OuterRef("pk"), store=store)
    packages = Q(orders__store=store)
    handed_over = [status for status in Order.Status.values if status != Order.Status.SCHEDULED]
    collected = packages & (Q(orders__packages__collected_at__isnull=False) | Q(orders__status__in=handed_over))
    orders = Order.objects.filter(store=store).prefetch_related("packages").order_by("pk")
    return (
        PickupWindow.objects.filter(Exists(of_store), site_id=store.site_id, local_date=today)
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
