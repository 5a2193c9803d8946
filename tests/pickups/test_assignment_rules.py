"""The set-based assignment agrees with the rules stated for one order at a time, on random cases.

`orders_assign` reads a batch's orders as plain values, works each promise out once per store and
ready-day, and writes everything in bulk; `choose_window` and `order_promise` are the rules for one
order. Taking the orders one by one in the order they became ready, booking each chosen window as we
go, must give every order the same window, or leave it ready with the same reason.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from merchants.models import Closure, Store
from pickups.models import Order, PickupWindow, Quote
from pickups.windows import (
    calendar_of,
    choose_window,
    order_promise,
    orders_assign,
    windows_open_to_orders,
    windows_plan,
)
from tests.factories import SiteFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db

# Plain days, a spring-forward weekend and a fall-back one, in a zone with DST and one without.
MOMENTS = [datetime(2027, 1, 4, 15, 0, tzinfo=UTC), datetime(2027, 3, 13, 16, 0, tzinfo=UTC)]
MOMENTS += [datetime(2027, 11, 6, 14, 0, tzinfo=UTC)]
ZONES = ["America/Phoenix", "America/New_York"]

hours = st.tuples(st.integers(6, 12), st.integers(13, 22)).map(lambda pair: (time(pair[0]), time(pair[1])))
stores = st.fixed_dictionaries(
    {
        "site": st.integers(0, 1),
        "hours": st.dictionaries(st.integers(0, 6), hours, min_size=1),
        "closed": st.sets(st.integers(0, 8), max_size=2),  # days after today
        "cutoff": st.sampled_from([time(11), time(14), time(17)]),
    }
)
orders = st.fixed_dictionaries(
    {
        "store": st.integers(0, 2),
        "service_level": st.sampled_from(["same_day", "two_day"]),
        "ready_minutes_ago": st.integers(0, 3 * 24 * 60),
        "packages": st.integers(1, 4),
        "quoted": st.none() | st.integers(0, 40),  # the index of a window open to orders
    }
)
cases = st.fixed_dictionaries(
    {
        "now": st.sampled_from(MOMENTS).flatmap(
            lambda moment: st.integers(0, 10 * 60).map(lambda m: moment + timedelta(minutes=m))
        ),
        "zones": st.tuples(st.sampled_from(ZONES), st.sampled_from(ZONES)),
        "stores": st.lists(stores, min_size=1, max_size=3),
        "capacities": st.lists(st.integers(0, 6), min_size=1, max_size=6),
        "orders": st.lists(orders, min_size=1, max_size=10),
    }
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(case=cases)
def test_the_set_based_assignment_chooses_what_the_rules_choose_one_order_at_a_time(case):
    with transaction.atomic():
        now = case["now"]
        ready = build(case, now)
        expected = one_at_a_time(ready, now)

        orders_assign(now=now)

        actual = {
            pk: (status, window, reason)
            for pk, status, window, reason in Order.objects.values_list(
                "pk", "status", "pickup_window_id", "not_scheduled_reason"
            )
        }
        assert actual == expected
        transaction.set_rollback(True)


def build(case, now: datetime) -> list[Order]:
    """The case's sites, stores, a planned week of windows with the case's capacities, and ready orders."""
    sites = [SiteFactory(timezone=zone) for zone in case["zones"]]
    made = []
    for store in case["stores"]:
        made.append(StoreFactory(site=sites[store["site"]], hours=store["hours"], same_day_cutoff=store["cutoff"]))
        today = now.astimezone(UTC).date()
        Closure.objects.bulk_create(Closure(store=made[-1], date=today + timedelta(days=d)) for d in store["closed"])
    windows_plan(now=now)
    windows = list(PickupWindow.objects.order_by("pk"))
    for index, window in enumerate(windows):
        window.capacity_packages = case["capacities"][index % len(case["capacities"])]
    PickupWindow.objects.bulk_update(windows, ["capacity_packages"])
    return [ready_order(made[spec["store"] % len(made)], spec, now) for spec in case["orders"]]


def ready_order(store: Store, spec, now: datetime) -> Order:
    [order] = make_orders(store, packages=spec["packages"], service_level=spec["service_level"])
    quote = None
    open_to_orders = list(windows_open_to_orders(store.site, now, date.max))
    if spec["quoted"] is not None and open_to_orders:
        window = open_to_orders[spec["quoted"] % len(open_to_orders)]
        quote = Quote.objects.create(
            merchant=store.merchant,
            store=store,
            service_level=spec["service_level"],
            postal_code="85225",
            eligible=True,
            window=window,
            expires_at=now,
        )
    ready_at = now - timedelta(minutes=spec["ready_minutes_ago"])
    Order.objects.filter(pk=order.pk).update(status=Order.Status.READY, ready_at=ready_at, quote=quote)
    return Order.objects.select_related("store__site", "quote").get(pk=order.pk)


def one_at_a_time(ready: list[Order], now: datetime) -> dict[int, tuple]:
    """{order: (status, window, reason)} as the rules for one order give it, booking as they go."""
    windows = {}  # each site's windows open to orders, read once so that bookings carry over
    expected = {}
    for order in sorted(ready, key=lambda order: (order.ready_at, order.pk)):
        store = (
            Store.objects.prefetch_related("opening_hours", "closures").select_related("site").get(pk=order.store_id)
        )
        if store.site_id not in windows:
            windows[store.site_id] = list(windows_open_to_orders(store.site, now, date.max))
        calendar = calendar_of(store)
        promise = order_promise(store, calendar, order.service_level, order.ready_at, now)
        size = order.packages.count()
        preferred = order.quote.window_id if order.quote else None
        window, reason = choose_window(
            windows[store.site_id], store=store, calendar=calendar, promise=promise, size=size, preferred=preferred
        )
        if window is None:
            expected[order.pk] = (Order.Status.READY, None, reason)
            continue
        window.booked_packages += size
        expected[order.pk] = (Order.Status.SCHEDULED, window.pk, "")
    return expected
