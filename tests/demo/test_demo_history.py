"""The demo's past orders: a few weeks per demo store with the outcomes a dashboard should show, every
custody chain intact, nothing left in a driver's care, and seeding again adds only days not yet seeded."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, Max, Min
from django.urls import reverse

from demo.history import HISTORY_DAYS, ORDERS_PER_DAY, history_seed
from merchants.models import Store
from pickups.custody import chains_verify
from pickups.models import Order, OrderEvent, PickupWindow
from pickups.performance import stores_performance

pytestmark = pytest.mark.django_db

S = Order.Status
# Monday 2027-01-04, 10:00 in Chandler: four weeks back reach into December, Christmas closed.
MONDAY = datetime(2027, 1, 4, 17, 0, tzinfo=UTC)


@pytest.fixture
def seeded():
    with time_machine.travel(MONDAY, tick=False):
        call_command("seed_demo", "--json")


def past(store=None):
    orders = Order.objects.filter(external_id__startswith="H")
    return orders.filter(store=store) if store else orders


def test_every_demo_store_has_weeks_of_orders_with_real_outcomes(seeded):
    stores = Store.objects.filter(name__in=ORDERS_PER_DAY).select_related("site")
    assert stores.count() == len(ORDERS_PER_DAY)
    for store in stores:
        days = {order.external_id.split("-")[1] for order in past(store)}
        assert len(days) >= HISTORY_DAYS * 0.7, store  # its open days of the last four weeks
        if store.site.kind == store.site.Kind.MALL:
            assert "20261225" not in days  # the malls close on Christmas Day
    statuses = dict(past().values_list("status").annotate(count=Count("pk")))
    assert statuses[S.DELIVERED] > 0.8 * sum(statuses.values())
    assert statuses[S.CANCELLED] and statuses.get(S.COLLECTED, 0) + statuses.get(S.RETURNED, 0)
    # nothing of the past is in a driver's care or on its way back: the drivers' pages stay as they were
    assert not set(statuses) & {S.PICKED_UP, S.DELIVERY_FAILED}
    events = OrderEvent.objects.filter(order__in=past())
    for kind in ("order.pickup_missed", "order.left_behind", "order.delivery_failed", "order.returned"):
        assert events.filter(type=kind).exists(), kind
    assert past().filter(attempt=2, status=S.DELIVERED).exists()
    # the past windows were kept or missed, by the drivers near each site, never by the demo pickup's driver
    # (a past order sent out again may sit in a window still to come: only windows already over are history)
    windows = PickupWindow.objects.filter(orders__in=past(), ends_at__lte=MONDAY).distinct()
    assert set(windows.values_list("status", flat=True)) <= {PickupWindow.Status.COMPLETED, PickupWindow.Status.MISSED}
    assert not windows.filter(driver__user__username="luis.ortega").exists()


def test_every_chain_verifies_and_seeding_again_adds_nothing_that_day_and_the_new_day_after(seeded):
    checks = list(chains_verify(Order.objects.all()))
    assert checks and all(check.broken is None for check in checks)
    count = past().count()

    with time_machine.travel(MONDAY, tick=False):
        assert history_seed() == 0
    assert past().count() == count

    # a week later the days in between are added (Monday's orders were made that day, not in the past)
    with time_machine.travel(MONDAY + timedelta(days=7), tick=False):
        added = history_seed()
    days = {order.external_id.split("-")[1] for order in past()}
    assert added > 0 and "20270104" in days and "20270110" in days and "20270111" not in days
    assert all(check.broken is None for check in chains_verify(Order.objects.all()))


def test_past_orders_are_dated_by_their_ledger(seeded):
    orders = past().annotate(first=Min("events__occurred_at"), last=Max("events__occurred_at"))

    assert orders.count() > 300
    assert all(order.created_at == order.first and order.updated_at == order.last for order in orders)
    assert orders.filter(created_at__lt=MONDAY - timedelta(days=21)).exists()


def test_the_demo_dashboards_have_figures_and_charts(seeded, client):
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        store = Store.objects.select_related("site").get(name="Neon Threads Fashion Show")
        [performance] = stores_performance([store])
        client.login(username="marcus@neonthreads.example", password="shop-demo-2026")
        page = client.get(reverse("dashboard")).content.decode()
        chart = client.get(reverse("dashboard_chart", args=[store.pk]))

    thirty = performance.period(30)
    assert thirty.orders > 100 and 0.8 < thirty.on_time_rate < 1 and 0.85 < thirty.delivered_rate < 1
    assert thirty.failed and thirty.returned and thirty.cancelled
    assert sum(day.total for day in performance.days) == thirty.orders  # the chart shows the same orders
    assert "How your stores are doing" in page and reverse("dashboard_chart", args=[store.pk]) in page
    assert chart.status_code == 200 and chart.content.count(b"<rect") > 50
