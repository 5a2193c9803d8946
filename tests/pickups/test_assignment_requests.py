"""Orders flagged ready ask a worker to schedule them: with a cache every process shares, one task per store
for a burst of flags, sent for real to a Redis broker; the task schedules every order flagged before it starts,
and a flag after that sends a new one. With a cache of its own per process, each flag sends its task; with the
cache and the broker down, a flag still commits and answers, and the task still runs."""

import base64
import json

import pytest
import redis
from django.test import override_settings

from common.actors import SYSTEM
from config.celery import app
from pickups.models import Order
from pickups.services import order_mark_ready, orders_mark_ready
from pickups.tasks import assign_stores
from pickups.windows import windows_plan
from tests.factories import StoreFactory, make_orders
from tests.faults.processes import flush, publishing_to, redis_database

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker():
    url = redis_database(10)  # no other test uses it
    flush(url)
    with publishing_to(url):
        yield url
    flush(url)


@pytest.fixture
def shared_cache():
    url = redis_database(9)  # nor this one
    flush(url)
    with override_settings(CACHES={"default": {"BACKEND": "common.cache.RedisCache", "LOCATION": url}}):
        yield
    flush(url)


def sent(url: str) -> list[tuple[str, dict]]:
    """(task, kwargs) of each message waiting on the default queue, oldest first."""
    client = redis.Redis.from_url(url)
    try:
        raw = client.lrange(app.conf.task_default_queue, 0, -1)
    finally:
        client.close()
    messages = [json.loads(item) for item in reversed(raw)]  # the transport pushes to the head
    return [(message["headers"]["task"], json.loads(base64.b64decode(message["body"]))[1]) for message in messages]


def flag_one_by_one(orders, capture):
    for order in orders:  # one request each, as a merchant's system flags them
        with capture(execute=True):
            order_mark_ready(order=order, actor=SYSTEM)


@pytest.mark.broker  # a real Redis, to read what was sent
def test_a_burst_of_flags_at_a_store_sends_one_task_which_schedules_them_all(
    broker, shared_cache, django_capture_on_commit_callbacks
):
    busy, quiet = StoreFactory(), StoreFactory()
    windows_plan()
    burst = make_orders(busy, count=5)

    flag_one_by_one(burst, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        orders_mark_ready(orders=make_orders(quiet, count=2), actor=SYSTEM)

    assert sent(broker) == [
        ("pickups.tasks.assign_stores", {"store_ids": [busy.pk]}),
        ("pickups.tasks.assign_stores", {"store_ids": [quiet.pk]}),
    ]
    # the worker runs the first: every order flagged at its store before it started is its work
    assert assign_stores(store_ids=[busy.pk]) == 5
    assert set(Order.objects.filter(store=busy).values_list("status", flat=True)) == {"scheduled"}
    # once it has started, a new flag at the store sends a new task
    flag_one_by_one(make_orders(busy), django_capture_on_commit_callbacks)
    assert sent(broker)[2:] == [("pickups.tasks.assign_stores", {"store_ids": [busy.pk]})]


@pytest.mark.broker
def test_with_a_cache_per_process_every_flag_sends_its_task(broker, django_capture_on_commit_callbacks):
    store = StoreFactory()

    flag_one_by_one(make_orders(store, count=3), django_capture_on_commit_callbacks)

    assert sent(broker) == [("pickups.tasks.assign_stores", {"store_ids": [store.pk]})] * 3


def test_with_its_cache_and_broker_down_a_flag_answers_and_the_task_still_runs(
    store, api, caplog, django_capture_on_commit_callbacks
):
    windows_plan()
    [order] = make_orders(store)
    nowhere = "redis://127.0.0.1:1/0"  # nothing listens there: the cache and the broker are down together
    dead_cache = {"default": {"BACKEND": "common.cache.RedisCache", "LOCATION": nowhere}}

    with override_settings(CACHES=dead_cache), publishing_to(nowhere):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/v1/orders/{order.pk}/ready/")
        # the worker's side, once the broker is back: its task runs, though it cannot clear its note
        scheduled = assign_stores(store_ids=[store.pk])

    assert response.status_code == 200 and response.json()["status"] == "ready"
    assert "Could not enqueue pickups.tasks.assign_stores" in caplog.text
    assert "Could not clear the waiting notes" in caplog.text
    assert scheduled == 1 and Order.objects.get(pk=order.pk).status == "scheduled"
