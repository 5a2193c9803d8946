"""The program team's daily digest: the work queues by email, once a day, only when something is open."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from common.actors import SYSTEM
from merchants.models import Merchant
from notifications.models import Notification
from pickups.digest import operations_digest_send
from pickups.ledger import orders_transition
from pickups.models import Order
from pickups.tasks import send_operations_digest
from tests.factories import MerchantFactory, StoreFactory, UserFactory, make_orders

pytestmark = pytest.mark.django_db

MORNING = datetime(2027, 1, 4, 13, 0, tzinfo=UTC)


@pytest.fixture
def admins(settings):
    settings.PROGRAM_ADMIN_EMAILS = ["ops@program.example"]
    UserFactory(username="lead", email="lead@program.example", is_staff=True)
    return ["lead@program.example", "ops@program.example"]


def digests():
    return Notification.objects.filter(template="operations_digest").order_by("recipient")


def stuck_orders(count):
    orders = make_orders(StoreFactory(), count)
    orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(
        not_scheduled_reason="Every pickup window at the mall is full."
    )
    return orders


def test_each_admin_gets_the_open_queues_with_counts_examples_and_links(admins, settings):
    settings.PORTAL_URL = "https://portal.example"
    MerchantFactory(status=Merchant.Status.PENDING, display_name="Cactus Candles")
    orders = stuck_orders(7)

    assert operations_digest_send(now=MORNING) is True  # its day: Monday 4 January, UTC

    sent = list(digests())
    assert [message.recipient for message in sent] == admins
    body = sent[0].body
    assert "Merchants waiting for approval: 1" in body and "Cactus Candles" in body
    assert "Ready orders that could not be scheduled: 7" in body
    assert sum(order.external_id in body for order in orders) == 5 and "… and 2 more" in body
    assert "https://portal.example/admin/pickups/order/?queue=unscheduled" in body
    assert "Pickups at risk" not in body  # an empty queue is left out
    assert sent[0].subject == "Program digest Mon Jan 4: 2 work queues need a look"


def test_a_second_run_the_same_day_sends_nothing_the_next_day_sends_again(admins):
    stuck_orders(1)
    with time_machine.travel(MORNING, tick=False):
        operations_digest_send()
    with time_machine.travel(MORNING + timedelta(hours=5), tick=False):
        again = send_operations_digest()
    with time_machine.travel(MORNING + timedelta(days=1), tick=False):
        tomorrow = send_operations_digest()

    assert (again, tomorrow) == (False, True)
    assert digests().count() == 2 * len(admins)


def test_nothing_open_means_no_digest(admins):
    assert send_operations_digest() is False
    assert not digests().exists()
