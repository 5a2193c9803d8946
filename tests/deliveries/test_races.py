"""Twenty drivers accept the same pickup at the same moment: PostgreSQL picks exactly one."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from common.actors import SYSTEM
from deliveries.models import Offer
from deliveries.services import offer_accept, window_offer_wave
from pickups.custody import verify_chain
from pickups.models import Order, PickupWindow
from pickups.services import order_cancel
from pickups.windows import orders_assign
from tests.factories import DriverFactory, StoreFactory, WindowFactory, make_orders

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DRIVERS = 20


def test_twenty_simultaneous_accepts_have_one_winner_and_nineteen_409s(window, settings):
    settings.OFFER_WAVE_SIZE = DRIVERS
    drivers = [DriverFactory() for _ in range(DRIVERS)]
    offers = {offer.driver_id: offer for offer in window_offer_wave(window_id=window.pk, now=timezone.now())}
    assert len(offers) == DRIVERS
    tokens = {driver.pk: AuthToken.objects.create(user=driver.user)[1] for driver in drivers}
    barrier = threading.Barrier(DRIVERS)

    def accept(driver):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[driver.pk]}")
        barrier.wait(timeout=30)
        try:
            return client.post(f"/api/v1/driver/offers/{offers[driver.pk].pk}/accept/").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(DRIVERS) as pool:
        statuses = list(pool.map(accept, drivers))

    assert sorted(statuses) == [200] + [409] * (DRIVERS - 1)
    window.refresh_from_db()
    assert window.status == "accepted"
    assert Offer.objects.filter(window=window, status="accepted").get().driver == window.driver
    assert Offer.objects.filter(window=window, status="open").count() == 0


def test_two_workers_assigning_at_once_never_overbook_a_window():
    store = StoreFactory()
    window = WindowFactory(site=store.site, capacity_packages=10)
    orders = make_orders(store, 12, packages=1)
    Order.objects.update(status="ready", ready_at=timezone.now())
    barrier = threading.Barrier(2)

    def assign(ids):
        barrier.wait(timeout=30)
        try:
            return len(orders_assign(order_ids=ids).scheduled)
        finally:
            connection.close()

    halves = [[o.pk for o in orders[::2]], [o.pk for o in orders[1::2]]]
    with ThreadPoolExecutor(2) as pool:
        scheduled = sum(pool.map(assign, halves))

    window.refresh_from_db()
    assert window.booked_packages == scheduled == 10
    assert Order.objects.filter(pickup_window=window).count() == 10
    assert PickupWindow.objects.filter(booked_packages__gt=10).count() == 0


def test_a_driver_accepting_while_the_merchant_cancels_never_deadlocks(window, driver):
    """The accept locks only the window (its notes on the orders come after commit) and the cancel the
    order, then the window: whichever is second waits and then goes through."""
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    order = window.orders.get()
    barrier = threading.Barrier(2)

    def accept():
        barrier.wait(timeout=30)
        try:
            offer_accept(offer=offer, driver=driver)
        finally:
            connection.close()

    def cancel():
        barrier.wait(timeout=30)
        try:
            order_cancel(order=order, actor=SYSTEM, reason="Customer changed their mind")
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = [pool.submit(accept), pool.submit(cancel)]
        for result in results:
            result.result()  # a deadlock would raise here

    order.refresh_from_db()
    window.refresh_from_db()
    assert order.status == "cancelled" and window.status == "accepted" and window.booked_packages == 0
    assert verify_chain(list(order.events.order_by("id"))) is None
