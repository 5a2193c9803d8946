"""Tenant-scoped reads of webhook endpoints and deliveries: anyone else's are a 404."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from merchants.models import Merchant, Store

from .models import Delivery, Endpoint


def endpoints_for_merchant(merchant: Merchant) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(merchant=merchant).order_by("created_at", "id")


def endpoint_for_merchant(*, merchant: Merchant, pk: int) -> Endpoint:
    """The merchant's own endpoint, or 404 for anyone else's."""
    return get_object_or_404(endpoints_for_merchant(merchant), pk=pk)


def deliveries_for_endpoint(endpoint: Endpoint) -> QuerySet[Delivery]:
    """Newest first, each with its attempts (one query for all of them)."""
    return endpoint.deliveries.prefetch_related("attempt_log").order_by("-created_at", "-id")


def delivery_for_merchant(*, merchant: Merchant, pk: int) -> Delivery:
    """A delivery to one of the merchant's endpoints, or 404."""
    return get_object_or_404(Delivery.objects.select_related("endpoint").filter(endpoint__merchant=merchant), pk=pk)


def merchant_time_zone(merchant: Merchant) -> str:
    """The zone a merchant's webhook pages show times in: its first store's site (the store made first),
    or UTC before it has a store."""
    zone = (
        Store.objects.filter(merchant=merchant).order_by("created_at", "id").values_list("site__timezone", flat=True)
    ).first()
    return zone or "UTC"
