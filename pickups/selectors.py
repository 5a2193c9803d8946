"""Tenant-scoped reads of orders: every order a view touches is fetched here."""

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from merchants.models import Merchant

from .models import Order, OrderEvent


def orders_for_merchant(merchant: Merchant) -> QuerySet[Order]:
    return Order.objects.filter(merchant=merchant).select_related("store__site").prefetch_related("packages")


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
