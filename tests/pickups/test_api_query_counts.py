"""The orders API runs a fixed, small number of queries per request, whatever the sizes involved.

Counted as production counts them: a transaction's BEGIN and COMMIT (here the savepoint and its release,
inside the test's transaction) are queries too. Writes take one locked read per state change.
"""

import pytest

from common.actors import SYSTEM
from pickups import services
from tests.factories import make_orders
from tests.pickups.test_api_orders import ORDERS, new_order
from tests.webhooks.test_api import PUBLIC_URL
from webhooks.models import Delivery
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("packages", [1, 20])
def test_creating_an_order_takes_eight_queries_at_most(api, store, packages, django_assert_max_num_queries):
    body = new_order(store, packages=[{"weight_lb": "1"}] * packages)

    # the key, savepoint, the store, INSERT order, packages and event, any webhook endpoints?, release; the
    # answer is built from what was written
    with django_assert_max_num_queries(8):
        response = api.post(ORDERS, body, format="json")

    assert response.status_code == 201 and len(response.json()["packages"]) == packages


@pytest.mark.parametrize("packages", [1, 20])
def test_flagging_ready_takes_eight_queries_at_most(api, store, packages, django_assert_max_num_queries):
    [order] = make_orders(store, packages=packages)

    # the key, savepoint, one locked read (the merchant's order with store, site, window, merchant and
    # whether it has webhook endpoints), UPDATE, the last seal, INSERT event, release, the packages
    with django_assert_max_num_queries(8):
        response = api.post(f"{ORDERS}{order.pk}/ready/")

    assert response.status_code == 200 and response.json()["status"] == "ready"
    assert len(response.json()["packages"]) == packages


@pytest.mark.parametrize("count", [1, 3])
def test_a_merchant_with_webhooks_still_moves_an_order_in_a_fixed_number_of_queries(
    api, merchant, store, count, django_assert_max_num_queries
):
    for _ in range(count):
        endpoint_create(merchant=merchant, url=PUBLIC_URL, events=[])
    [order] = make_orders(store)

    # and the order as the webhook shows it (the order, its packages), the endpoints, one INSERT of deliveries
    with django_assert_max_num_queries(12):
        response = api.post(f"{ORDERS}{order.pk}/ready/")

    assert response.status_code == 200 and Delivery.objects.filter(type="order.ready").count() == count


@pytest.mark.parametrize(("packages", "moved"), [(1, False), (20, True)])
def test_reads_take_a_fixed_number_of_queries(api, store, packages, moved, django_assert_num_queries):
    [order] = make_orders(store, packages=packages)
    if moved:  # three events instead of one
        services.order_mark_ready(order=order, actor=SYSTEM)
        services.order_cancel(order=order, actor=SYSTEM, reason="Out of stock")

    with django_assert_num_queries(2):  # the key, the order joined with store, site, window and packages
        assert api.get(f"{ORDERS}{order.pk}/").status_code == 200
    with django_assert_num_queries(2):  # the key, the events of the merchant's order
        assert api.get(f"{ORDERS}{order.pk}/events/").status_code == 200
    with django_assert_num_queries(2):  # the order with its store and site, its events (no key: public)
        assert api.get(f"/api/v1/track/{order.tracking_code}/").status_code == 200
    with django_assert_num_queries(2):  # the same two for the customer's page
        assert api.get(f"/track/{order.tracking_code}/").status_code == 200
