from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from common.actors import SYSTEM
from pickups.ledger import orders_transition
from pickups.models import Order
from pickups.windows import customers_tell_scheduled, orders_assign
from tests.factories import PASSWORD, DriverFactory, MembershipFactory, StoreFactory, WindowFactory, make_orders


def pytest_collection_modifyitems(config, items):
    """Tests that need PostgreSQL or a real broker say so with a marker; elsewhere they are skipped."""
    from django.conf import settings

    on_postgres = connection.vendor == "postgresql"
    real_broker = settings.CELERY_BROKER_URL.startswith("redis://")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))
        if "broker" in item.keywords and not real_broker:
            item.add_marker(pytest.mark.skip(reason="needs a real broker: set CELERY_BROKER_URL=redis://..."))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits live in the cache: each test starts with none used."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def owner(db):
    """The owner login of an approved merchant."""
    return MembershipFactory().user


@pytest.fixture
def merchant(owner):
    return owner.membership.merchant


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker, in a thread of this process, consuming from the real broker (Redis)."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from config.celery import app

    def close_connections(**kwargs):  # in the worker's thread, so the test database can be dropped
        connections.close_all()

    app.conf.task_always_eager = False
    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_connections)
        app.conf.task_always_eager = True


def wait_for(predicate, timeout=20.0, interval=0.1):
    """Poll until predicate() is true; fail with the last value after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"still false after {timeout}s: {predicate.__doc__ or predicate}")


@pytest.fixture
def monday_morning():
    """10:00 on Monday 2027-01-04 in Chandler (UTC-7): stores open, before the same-day cutoff."""
    with time_machine.travel(datetime(2027, 1, 4, 17, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def window(db, monday_morning):
    """A window starting in 90 minutes at a Chandler mall, with one order of 3 packages booked."""
    store = StoreFactory()
    window = WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(minutes=90))
    orders = make_orders(store, packages=3)
    orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
    assigned = orders_assign(order_ids=[o.pk for o in orders], now=timezone.now() - timedelta(hours=1))
    customers_tell_scheduled(order_ids=assigned.scheduled)  # as the task queued at commit does
    window.refresh_from_db()
    assert window.booked_packages == 3
    return window


@pytest.fixture
def driver(db):
    return DriverFactory()
