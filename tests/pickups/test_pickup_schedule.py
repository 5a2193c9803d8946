"""Merchants see the windows holding their orders, the driver's first name and vehicle, nothing more."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from common.actors import SYSTEM
from deliveries.services import offer_accept, window_offer_wave
from pickups.ledger import orders_transition
from pickups.models import Order
from pickups.windows import orders_assign
from tests.factories import DriverFactory, MembershipFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine(window):
    """The window's order belongs to this merchant; another merchant's order shares the window."""
    order = window.orders.get()
    owner = MembershipFactory(merchant=order.merchant).user
    theirs = make_orders(StoreFactory(site=window.site), customer_name="Other Customer")
    orders_transition(orders=theirs, to=Order.Status.READY, actor=SYSTEM)
    orders_assign(now=timezone.now())
    driver = DriverFactory(user__first_name="Luis", vehicle_type="suv", vehicle_description="Blue Honda Pilot")
    offer_accept(offer=window_offer_wave(window_id=window.pk, now=timezone.now())[0], driver=driver)
    return owner, order, theirs[0]


def test_the_api_shows_my_orders_and_the_driver(mine, window):
    owner, order, _ = mine
    client = APIClient()
    client.force_login(owner)

    [body] = client.get("/api/v1/windows/").json()["results"]

    assert body["id"] == window.pk and body["status"] == "accepted"
    assert body["driver"] == {"first_name": "Luis", "vehicle": "Blue Honda Pilot (SUV)"}
    assert [o["external_id"] for o in body["orders"]] == [order.external_id]
    detail = client.get(f"/api/v1/orders/{order.pk}/").json()
    assert detail["pickup_window"]["driver"]["first_name"] == "Luis"


def test_the_page_shows_the_same_and_hides_other_merchants_orders(client, mine, window):
    owner, order, theirs = mine
    client.force_login(owner)

    page = client.get(reverse("pickup_schedule")).content.decode()

    assert order.external_id in page and "Luis" in page and "Blue Honda Pilot" in page
    assert theirs.external_id not in page


def test_a_merchant_without_orders_in_a_window_does_not_see_it(client, mine):
    client.force_login(MembershipFactory().user)

    assert "No pickups planned" in client.get(reverse("pickup_schedule")).content.decode()
    api = APIClient()
    api.force_login(MembershipFactory().user)
    assert api.get("/api/v1/windows/").json()["results"] == []


@pytest.mark.parametrize("orders", [2, 20])
def test_the_schedule_runs_a_constant_number_of_queries(client, mine, window, orders, django_assert_num_queries):
    owner, order, _ = mine
    more = make_orders(order.store, orders)
    Order.objects.filter(pk__in=[o.pk for o in more]).update(status="scheduled", pickup_window=window)
    client.force_login(owner)

    # session, user, membership, my sites, the day's windows, my orders in them (stores, packages counted),
    # my orders per day for the day switcher
    with django_assert_num_queries(7):
        response = client.get(reverse("pickup_schedule"))

    assert response.content.decode().count("package") >= orders
