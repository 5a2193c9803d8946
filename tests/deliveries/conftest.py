from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from common.actors import SYSTEM
from pickups.models import Order
from pickups.services import orders_transition
from pickups.windows import orders_assign
from tests.factories import DriverFactory, StoreFactory, WindowFactory, make_orders


@pytest.fixture(autouse=True)
def monday_morning():
    """10:00 on Monday 2027-01-04 in Chandler (UTC-7): stores open, before the same-day cutoff."""
    with time_machine.travel(datetime(2027, 1, 4, 17, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def window(db):
    """A window starting in 90 minutes at a Chandler mall, with one order of 3 packages booked."""
    store = StoreFactory()
    window = WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(minutes=90))
    orders = make_orders(store, packages=3)
    orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
    orders_assign(order_ids=[o.pk for o in orders], now=timezone.now() - timedelta(hours=1))
    window.refresh_from_db()
    assert window.booked_packages == 3
    return window


@pytest.fixture
def driver(db):
    return DriverFactory()
