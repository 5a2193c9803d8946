"""Delivery promises at checkout, before an order exists, and orders that honour them."""

from datetime import UTC, datetime, time

import pytest
import time_machine
from rest_framework.test import APIClient

from merchants.models import Merchant
from merchants.services import api_key_create
from pickups.models import Order, PickupWindow
from pickups.windows import orders_assign, windows_plan
from tests.factories import MembershipFactory, StoreFactory, WindowFactory
from tests.pickups.test_api_orders import new_order

pytestmark = pytest.mark.django_db
QUOTES = "/api/v1/quotes/"


@pytest.fixture
def store(monday_morning):
    store = StoreFactory(hours={day: (time(10), time(20)) for day in range(7)})
    windows_plan()
    return store


@pytest.fixture
def api(store):
    _, key = api_key_create(merchant=store.merchant, name="Checkout", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def ask(api, store, **changes):
    return api.post(
        QUOTES, {"store": store.pk, "service_level": "same_day", "postal_code": "85225"} | changes, format="json"
    )


def test_same_day_before_the_cutoff_is_delivered_today(api, store):
    response = ask(api, store)

    assert response.status_code == 201
    body = response.json()
    assert body["eligible"] is True and body["reason"] == ""
    # it is 10:00 in Chandler; with an hour's lead the first window is 12:00-14:00 (19:00Z)
    assert body["earliest_pickup"]["starts_at"] == "2027-01-04T19:00:00Z"
    assert body["promised_date"] == "2027-01-04"
    assert float(body["distance_miles"]) < 10


def test_after_the_cutoff_the_promise_is_the_next_open_day(api, store):
    with time_machine.travel(datetime(2027, 1, 4, 22, 0, tzinfo=UTC)):  # 15:00 local
        body = ask(api, store).json()

    assert body["promised_date"] == "2027-01-05"


def test_outside_the_radius_says_by_how_much(api, store):
    body = ask(api, store, postal_code="85138").json()  # Maricopa, AZ: about 20 miles away

    assert body["eligible"] is False and body["earliest_pickup"] is None
    assert "miles outside the delivery area" in body["reason"] and "delivers within 10 miles" in body["reason"]


def test_full_windows_are_named(api, store):
    PickupWindow.objects.update(capacity_packages=0)

    body = ask(api, store).json()

    assert body["eligible"] is False and "is full" in body["reason"]


def test_a_store_that_does_not_open_cannot_promise(api, store):
    store.opening_hours.all().delete()

    body = ask(api, store, service_level="two_day").json()

    assert body["eligible"] is False and "no open day" in body["reason"]


@pytest.mark.parametrize(
    ("changes", "field"), [({"postal_code": "123"}, "postal_code"), ({"postal_code": "00000"}, "postal_code")]
)
def test_bad_input_is_a_400(api, store, changes, field):
    response = ask(api, store, **changes)

    assert response.status_code == 400 and field in response.json()


def test_another_merchants_store_is_refused(api, store):
    response = ask(api, StoreFactory())

    assert response.status_code == 400 and response.json()["store"] == ["There is no such store in your account."]


def test_a_pending_merchant_gets_403(store):
    member = MembershipFactory(merchant__status=Merchant.Status.PENDING)
    client = APIClient()
    client.force_login(member.user)

    assert ask(client, StoreFactory(merchant=member.merchant)).status_code == 403


def test_anonymous_is_401(store):
    assert ask(APIClient(), store).status_code == 401


def test_an_order_made_with_the_quote_gets_the_quoted_window(api, store):
    quote = ask(api, store).json()
    # an earlier window (11:30 local, after the hour's lead time) opens up after the quote
    earlier = WindowFactory(site=store.site, starts_at=datetime(2027, 1, 4, 18, 30, tzinfo=UTC))
    assert earlier.starts_at < datetime.fromisoformat(quote["earliest_pickup"]["starts_at"])

    order = api.post("/api/v1/orders/", new_order(store, quote=quote["id"]), format="json").json()
    api.post(f"/api/v1/orders/{order['id']}/ready/")
    orders_assign()

    assert order["quote"] == quote["id"]
    assert Order.objects.get(pk=order["id"]).pickup_window_id == quote["earliest_pickup"]["id"]


def test_an_expired_quote_is_not_honoured(api, store):
    quote = ask(api, store).json()

    with time_machine.travel(datetime(2027, 1, 4, 17, 16, tzinfo=UTC)):
        order = api.post("/api/v1/orders/", new_order(store, quote=quote["id"]), format="json").json()

    assert order["quote"] is None


def test_a_quote_for_another_store_or_service_is_refused(api, store):
    quote = ask(api, store).json()

    response = api.post("/api/v1/orders/", new_order(store, quote=quote["id"], service_level="two_day"), format="json")

    assert response.status_code == 400 and "another store or service level" in response.json()["quote"][0]
    assert not Order.objects.exists()


def test_without_a_quote_the_earlier_window_is_taken(api, store):
    WindowFactory(site=store.site, starts_at=datetime(2027, 1, 4, 18, 30, tzinfo=UTC))

    order = api.post("/api/v1/orders/", new_order(store), format="json").json()
    api.post(f"/api/v1/orders/{order['id']}/ready/")
    orders_assign()

    assert Order.objects.get(pk=order["id"]).pickup_window.starts_at == datetime(2027, 1, 4, 18, 30, tzinfo=UTC)
