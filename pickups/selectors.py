"""Tenant-scoped reads of orders: every order a view touches is fetched here."""

import zoneinfo
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from common.timezones import local_today
from merchants.models import Merchant, Site, Store

from .models import Order, OrderEvent, OrderImport, PickupWindow


def orders_for_merchant(merchant: Merchant) -> QuerySet[Order]:
    return (
        Order.objects.filter(merchant=merchant)
        .select_related("store__site", "pickup_window__driver__user")
        .prefetch_related("packages")
    )


def order_for_merchant(*, merchant: Merchant, pk: int) -> Order:
    """The merchant's own order, or 404 for anyone else's."""
    return get_object_or_404(orders_for_merchant(merchant), pk=pk)


def orders_search(orders: QuerySet[Order], text: str) -> QuerySet[Order]:
    text = text.strip()
    if not text:
        return orders
    return orders.filter(
        Q(external_id__icontains=text) | Q(tracking_code__iexact=text) | Q(customer_name__icontains=text)
    )


def order_for_tracking(tracking_code: str) -> Order:
    """Anyone's order by its tracking code (public tracking), with its events."""
    return get_object_or_404(
        Order.objects.select_related("store").prefetch_related(
            Prefetch("events", OrderEvent.objects.order_by("occurred_at", "id"))
        ),
        tracking_code=tracking_code.upper(),
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
        .select_related("site", "driver__user")
        .prefetch_related(Prefetch("orders", mine))
        .order_by("starts_at", "pk")
    )
