"""Concurrency settled by PostgreSQL: row locks and unique indexes, not luck."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from merchants.services import api_key_create
from pickups.models import Order, OrderEvent
from tests.factories import StoreFactory, make_orders
from tests.pickups.test_api_orders import ORDERS, new_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def at_once(call):
    """Run `call` in THREADS threads released together; each closes its own connection."""
    barrier = threading.Barrier(THREADS)

    def run(_):
        barrier.wait(timeout=30)
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def api_client(merchant):
    _, raw = api_key_create(merchant=merchant, name="Checkout", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_simultaneous_retries_with_one_idempotency_key_create_one_order():
    store = StoreFactory()
    raw_client = api_client(store.merchant)

    def post():
        response = raw_client.post(ORDERS, new_order(store), format="json", HTTP_IDEMPOTENCY_KEY="checkout-77")
        return response.status_code, response.json()["id"]

    results = at_once(post)

    assert {status for status, _ in results} == {201}
    assert len({order_id for _, order_id in results}) == 1
    assert Order.objects.count() == 1


def test_simultaneous_ready_clicks_move_the_order_once():
    store = StoreFactory()
    [order] = make_orders(store)
    client = api_client(store.merchant)

    statuses = at_once(lambda: client.post(f"{ORDERS}{order.pk}/ready/").status_code)

    assert sorted(statuses) == [200] + [409] * (THREADS - 1)
    assert OrderEvent.objects.filter(order=order, type="order.ready").count() == 1
