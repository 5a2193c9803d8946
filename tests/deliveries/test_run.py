"""The delivery run: parcels in the driver's care in route order with ETAs, and its phone pages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from merchants.handoff_codes import store_code
from pickups.models import Order
from tests.deliveries.conftest import api_for
from tests.factories import DriverFactory, make_orders

pytestmark = pytest.mark.django_db
MILE = Decimal("0.014493")  # of latitude


@pytest.fixture
def run(on_site, driver):
    """Three parcels in the driver's care, 3, 1 and 2 miles north of the site (in that order of creation)."""
    store = on_site.orders.get().store
    orders = [make_orders(store, latitude=on_site.site.latitude + miles * MILE)[0] for miles in (3, 1, 2)]
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status="picked_up", pickup_window=on_site)
    return orders


def test_the_run_visits_the_nearest_first_with_rising_etas(run, on_site, driver, settings):
    settings.ROUTE_AVERAGE_MPH, settings.ROUTE_STOP_MINUTES = 30, 4
    far, near, middle = run

    body = api_for(driver).get("/api/v1/driver/run/").json()

    assert [stop["id"] for stop in body["stops"]] == [near.pk, middle.pk, far.pk]
    assert body["engine"] == "vroom" and body["starts_from"] == on_site.site.name
    assert body["total_miles"] == pytest.approx(3.0, abs=0.1)
    first, second = body["stops"][0], body["stops"][1]
    assert first["customer_first_name"] == "Jamie" and first["packages"] == [near.packages.get().label_code]
    assert first["eta"].endswith("-07:00")  # the site's time, Arizona
    gap = timezone.datetime.fromisoformat(second["eta"]) - timezone.datetime.fromisoformat(first["eta"])
    assert gap == pytest.approx(timedelta(minutes=2 + 4), abs=timedelta(seconds=15))  # a mile at 30 mph, a stop


@pytest.mark.parametrize("extra", [1, 12])
def test_the_run_runs_a_constant_number_of_queries(on_site, driver, extra, django_assert_max_num_queries):
    store = on_site.orders.get().store
    orders = make_orders(store, extra)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status="picked_up", pickup_window=on_site)
    client = api_for(driver)

    # token, user's tokens, driver, orders with stores and windows, packages, last handoff place
    with django_assert_max_num_queries(7):
        assert len(client.get("/api/v1/driver/run/").json()["stops"]) == extra


def test_another_drivers_run_is_empty_and_anonymous_is_401(run):
    assert api_for(DriverFactory()).get("/api/v1/driver/run/").json()["stops"] == []
    assert APIClient().get("/api/v1/driver/run/").status_code == 401


def test_the_run_page_lists_the_stops_with_directions_a_call_and_both_handoffs(run, driver, client):
    client.force_login(driver.user)

    page = client.get(reverse("driver_run")).content.decode()

    assert page.index(f"stop-{run[1].pk}") < page.index(f"stop-{run[2].pk}") < page.index(f"stop-{run[0].pk}")
    assert "google.com/maps/dir/?api=1&amp;destination=" in page and 'href="tel:480-555-0199"' in page
    assert 'capture="environment"' in page and "Couldn't deliver" in page


def test_deliver_then_fail_then_return_from_the_pages(run, driver, client):
    client.force_login(driver.user)
    far, near, _ = run

    delivered = client.post(
        reverse("driver_order_deliver", args=[near.pk]), {"left_at": "handed_to_customer", "recipient_name": "Jamie"}
    )
    failed = client.post(reverse("driver_order_fail", args=[far.pk]), {"reason": "not_home"}, follow=True)
    returns = client.get(reverse("driver_returns")).content.decode()
    code = store_code(far.store).code
    back = client.post(
        reverse("driver_returns"),
        {"store": far.store_id, "store_code": code, "label_codes": far.packages.get().label_code},
        follow=True,
    )

    assert delivered.status_code == 302
    assert Order.objects.get(pk=near.pk).status == "delivered"
    assert "back to" in failed.content.decode() and "1 failed delivery to take back" in failed.content.decode()
    assert far.packages.get().label_code in returns and "To return" in returns
    assert "Returned." in back.content.decode()
    assert Order.objects.get(pk=far.pk).status == "returned"


def test_a_bad_handoff_on_the_pages_says_why(run, driver, client):
    client.force_login(driver.user)

    no_proof = client.post(reverse("driver_order_deliver", args=[run[0].pk]), {"left_at": "front_door"}, follow=True)
    bad_reason = client.post(reverse("driver_order_fail", args=[run[0].pk]), {"reason": "lost"}, follow=True)

    assert "Take a photo of where you left the parcel." in no_proof.content.decode()
    assert "Select a valid choice" in bad_reason.content.decode()
    assert Order.objects.get(pk=run[0].pk).status == "picked_up"


def test_another_driver_cannot_hand_over_my_parcels(run, client):
    client.force_login(DriverFactory().user)

    response = client.post(reverse("driver_order_deliver", args=[run[0].pk]), {"recipient_name": "X"})

    assert response.status_code == 404
    assert client.post(reverse("driver_order_fail", args=[run[0].pk]), {"reason": "not_home"}).status_code == 404


def test_after_a_delivery_the_run_is_planned_from_that_stop(run, driver):
    far, near, middle = run
    client = api_for(driver)
    client.post(
        f"/api/v1/driver/orders/{far.pk}/deliver/",
        {"recipient_name": "Jo", "latitude": str(far.latitude), "longitude": str(far.longitude)},
        format="json",
    )

    body = client.get("/api/v1/driver/run/").json()

    assert body["starts_from"] == "your last stop"
    assert [stop["id"] for stop in body["stops"]] == [middle.pk, near.pk]  # from 3 miles out, inwards
