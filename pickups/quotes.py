"""Delivery promises for a shop's checkout, before any order exists."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from common.geocoding import zip_code_problem
from merchants import standing
from merchants.models import Merchant, Store

from . import scheduling
from .intake import locate
from .models import Quote
from .windows import calendar_of, choose_window, promise_for, windows_open_to_orders

QUOTE_LIFETIME = timedelta(minutes=15)


def quote_create(
    *,
    merchant: Merchant,
    store_id: int,
    service_level: str,
    postal_code: str,
    latitude=None,
    longitude=None,
    packages: int = 1,
    now: datetime | None = None,
) -> Quote:
    """Can this store deliver there at this service level if the order were ready now, and when?

    The answer names the reason in words when it cannot (outside the radius by how far, no open
    day, no window or no room), and is honoured by an order created within QUOTE_LIFETIME.
    """
    now = now or timezone.now()
    standing.merchant_check(merchant, standing.QUOTE)
    if problem := zip_code_problem(postal_code):  # before any geocoder sees it, whoever calls
        raise ValidationError({"postal_code": problem})
    store = (
        Store.objects.filter(merchant=merchant, is_active=True, pk=store_id)
        .select_related("site")
        .prefetch_related("opening_hours", "closures")
        .first()
    )
    if store is None:
        raise ValidationError({"store": "There is no such store in your account."})
    destination = locate(store=store, postal_code=postal_code, latitude=latitude, longitude=longitude)
    outside = destination.problems.pop("delivery_address", None)
    if destination.problems:
        raise ValidationError(destination.problems)
    window, reason = None, ""
    if outside:
        too_far = destination.miles - store.service_radius_miles
        reason = f"{outside[0]} That is {too_far} miles outside the delivery area."
    else:
        calendar = calendar_of(store)
        promise = promise_for(store, calendar, service_level, now)
        windows = windows_open_to_orders(store.site, now, promise.last_day) if promise.last_day else []
        window, reason = choose_window(windows, store=store, calendar=calendar, promise=promise, size=packages)
    return Quote.objects.create(
        merchant=merchant,
        store=store,
        service_level=service_level,
        postal_code=postal_code,
        distance_miles=destination.miles,
        eligible=window is not None,
        reason=reason,
        window=window,
        promised_date=scheduling.promised_delivery_day(pickup_ends_at=window.ends_at, customer_tz=destination.timezone)
        if window
        else None,
        expires_at=now + QUOTE_LIFETIME,
    )
