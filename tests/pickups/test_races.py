"""Concurrency settled by PostgreSQL: row locks and unique indexes, not luck."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from rest_framework.test import APIClient

from common.actors import SYSTEM
from merchants.services import api_key_create
from notifications.models import Notification
from pickups.custody import verify_chain
from pickups.digest import operations_digest_send
from pickups.ledger import orders_note, orders_transition
from pickups.models import Order, OrderEvent
from pickups.windows import orders_assign
from tests.factories import StoreFactory, make_orders
from tests.pickups.test_api_orders import ORDERS, new_order
from tests.pickups.test_digest import stuck_orders

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


def test_a_move_that_waited_for_the_lock_seals_to_the_event_written_meanwhile():
    # The move reads its orders' last seals with its UPDATE, after taking their locks: a read made before (with
    # the locking SELECT, say) would not see the event of the transaction it waited for, and fork the chain.
    store = StoreFactory()
    [order] = make_orders(store)
    noted, release = threading.Event(), threading.Event()

    def hold_and_note():
        try:
            with transaction.atomic():
                held = Order.objects.select_for_update().get(pk=order.pk)
                orders_note(orders=[held], type="order.note", actor=SYSTEM, at=timezone.now(), details={})
                noted.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def move():
        try:
            return orders_transition(orders=[order], to=Order.Status.READY, actor=SYSTEM)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(hold_and_note)
        assert noted.wait(timeout=30)
        mover = pool.submit(move)
        waiting_for_a_lock(timeout=30)
        release.set()
        holder.result()
        moved, refused = mover.result()

    assert [o.pk for o in moved] == [order.pk] and not refused
    created, note, ready = order.events.order_by("id")
    assert (note.type, ready.type) == ("order.note", "order.ready")
    assert ready.prev_hash == note.hash and note.prev_hash == created.hash
    assert verify_chain([created, note, ready]) is None


def waiting_for_a_lock(timeout: float) -> None:
    """Return once another connection of this database waits for a row lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("no connection waited for the lock")


def test_the_missed_sweep_skips_an_order_another_transaction_holds_and_takes_it_next_time(monday_morning):
    from datetime import timedelta

    from django.db import transaction

    from common.actors import SYSTEM
    from pickups.ledger import orders_transition
    from pickups.models import PickupWindow
    from pickups.windows import windows_missed
    from tests.factories import WindowFactory

    store = StoreFactory()
    window = WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(minutes=90))
    held, free = make_orders(store, 2)
    orders_transition(orders=[held, free], to=Order.Status.READY, actor=SYSTEM)
    orders_assign(now=timezone.now())
    locked, release = threading.Event(), threading.Event()

    def hold():  # like a cancellation in progress: the order row is locked
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(timeout=30)
    after_start = window.starts_at + timedelta(minutes=1)
    try:
        assert windows_missed(now=after_start) == [window]  # did not wait for the held order
    finally:
        release.set()
        holder.join()

    assert Order.objects.get(pk=free.pk).events.filter(type="order.pickup_missed").exists()
    assert Order.objects.get(pk=held.pk).status == "scheduled"
    windows_missed(now=after_start)
    assert Order.objects.get(pk=held.pk).events.filter(type="order.pickup_missed").exists()
    assert PickupWindow.objects.get(pk=window.pk).booked_packages == 0


def test_digests_run_at_once_send_one(settings):
    settings.PROGRAM_ADMIN_EMAILS = ["ops@program.example"]
    stuck_orders(1)

    sent = at_once(operations_digest_send)

    assert sent.count(True) == 1
    assert Notification.objects.filter(template="operations_digest").count() == 1


def test_an_assignment_of_many_batches_runs_them_in_lanes_and_books_each_order_once(monday_morning, monkeypatch):
    from django.db.backends.signals import connection_created

    from common.actors import SYSTEM
    from pickups import ledger, windows
    from pickups.ledger import orders_transition
    from pickups.models import PickupWindow
    from tests.factories import SiteFactory

    stores = [StoreFactory(site=SiteFactory()) for _ in range(4)]
    windows.windows_plan()
    orders = [order for store in stores for order in make_orders(store, 5, packages=2)]
    monkeypatch.setattr(ledger, "assignment_ask", lambda orders: None)  # no task of its own: they wait for this run
    orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
    monkeypatch.setattr(windows, "SITES_PER_BATCH", 1)
    lanes = []

    def opened(sender, connection, **kwargs):
        lanes.append(threading.current_thread().name)

    connection_created.connect(opened)
    try:
        assigned = orders_assign()
    finally:
        connection_created.disconnect(opened)

    assert sorted(assigned.scheduled) == sorted(order.pk for order in orders)
    assert len(set(lanes)) == 2 and threading.current_thread().name not in lanes  # a connection per lane
    placed = Order.objects.filter(status="scheduled", pickup_window__site=F("store__site"))
    assert placed.count() == len(orders)
    assert OrderEvent.objects.filter(type="order.scheduled").values("order").distinct().count() == len(orders)
    assert OrderEvent.objects.filter(type="order.scheduled").count() == len(orders)
    booked = PickupWindow.objects.annotate(held=Count("orders__packages")).exclude(booked_packages=F("held"))
    assert not booked.exists()
    # each lane's tasks, sent at its commit from its own thread, reached the project's app (eager here): told
    assert not Order.objects.filter(schedule_untold=True).exists()
