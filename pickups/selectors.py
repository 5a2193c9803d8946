"""Tenant-scoped reads of orders: every order a view touches is fetched here."""

import zoneinfo
from datetime import datetime, time, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from common.timezones import local_today
from merchants.models import Merchant, Store

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
    by_zone = {}
    for store in stores:
        by_zone.setdefault(store.site.timezone, []).append(store.pk)
    if not by_zone:
        return {}
    today = reduce(or_, (Q(store__in=ids, created_at__range=_local_day_range(zone)) for zone, ids in by_zone.items()))
    rows = Order.objects.filter(today, merchant=merchant).values("status").annotate(count=Count("id"))
    return {row["status"]: row["count"] for row in rows}


def _local_day_range(zone_name: str) -> tuple[datetime, datetime]:
    """Today in that zone, as aware instants from local midnight to just before the next one."""
    zone = zoneinfo.ZoneInfo(zone_name)
    day = local_today(zone_name)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end - timedelta(microseconds=1)


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
