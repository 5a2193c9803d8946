"""The driver API: token login, offers, accept/decline, manifests, check-in; only one's own work."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from deliveries.services import offer_accept, window_offer_wave
from deliveries.tasks import delete_expired_tokens
from tests.deliveries.conftest import api_for
from tests.factories import PASSWORD, DriverFactory, MembershipFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def offered(window, driver):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    assert offer.driver == driver
    return offer


class TestToken:
    def test_a_driver_logs_in_and_uses_the_token(self, driver):
        response = APIClient().post("/api/v1/auth/token/", {"username": driver.user.username, "password": PASSWORD})

        assert response.status_code == 200
        token = response.json()["token"]
        assert token.startswith("mpd_") and response.json()["expiry"]
        assert token not in str(AuthToken.objects.values_list("digest", flat=True))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get("/api/v1/driver/offers/").status_code == 200

    def test_wrong_credentials_are_a_400(self, driver):
        response = APIClient().post("/api/v1/auth/token/", {"username": driver.user.username, "password": "nope"})

        assert response.status_code == 400
        assert "Unable to log in" in str(response.json())

    def test_an_expired_token_is_refused_and_the_daily_sweep_deletes_it(self, driver):
        client = api_for(driver)
        AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))  # its one token so far
        fresh = api_for(driver)

        assert client.get("/api/v1/driver/offers/").status_code == 401
        assert fresh.get("/api/v1/driver/offers/").status_code == 200
        assert AuthToken.objects.count() == 2  # refused, not deleted by the request
        assert delete_expired_tokens() == 1 and AuthToken.objects.count() == 1
        assert fresh.get("/api/v1/driver/offers/").status_code == 200

    def test_a_token_in_use_is_pushed_back_at_most_hourly(self, driver):
        client = api_for(driver)
        issued = AuthToken.objects.get().expiry

        with time_machine.travel(timezone.now() + timedelta(minutes=30)):
            assert client.get("/api/v1/driver/offers/").status_code == 200
        assert AuthToken.objects.get().expiry == issued  # no write for a token used within the hour
        with time_machine.travel(timezone.now() + timedelta(hours=2)):
            assert client.get("/api/v1/driver/offers/").status_code == 200
        assert abs(AuthToken.objects.get().expiry - (issued + timedelta(hours=2))) < timedelta(seconds=5)

    def test_a_merchant_login_is_not_a_driver(self):
        merchant_user = MembershipFactory().user
        client = APIClient()
        client.force_login(merchant_user)

        assert client.get("/api/v1/driver/offers/").status_code == 403
        token = APIClient().post("/api/v1/auth/token/", {"username": merchant_user.username, "password": PASSWORD})
        # the same answer as a wrong password: the endpoint does not tell whose passwords are right
        assert token.status_code == 400 and "Unable to log in with provided credentials." in str(token.json())
        assert not AuthToken.objects.exists()

    def test_a_suspended_driver_is_told_so(self, driver):
        driver.status = "suspended"
        driver.save()

        response = api_for(driver).get("/api/v1/driver/offers/")

        assert response.status_code == 403 and "suspended" in response.json()["detail"]

    @pytest.mark.parametrize("path", ["/api/v1/driver/offers/", "/api/v1/driver/windows/"])
    def test_anonymous_is_401(self, path):
        assert APIClient().get(path).status_code == 401


def test_offers_show_what_decides_whether_it_pays(offered, driver):
    [body] = api_for(driver).get("/api/v1/driver/offers/").json()["results"]

    assert body["id"] == offered.pk
    assert body["packages"] == 3 and body["stops"] == 1
    assert Decimal(body["distance_miles"]) < 2
    assert body["site"]["timezone"] == "America/Phoenix" and body["starts_at"].endswith("-07:00")


def test_accept_returns_the_manifest_and_a_second_accept_is_409(offered, driver, window):
    other = DriverFactory()
    client = api_for(driver)

    response = client.post(f"/api/v1/driver/offers/{offered.pk}/accept/")

    assert response.status_code == 200
    [stop] = response.json()["stops"]
    order = window.orders.get()
    assert stop["store"] == order.store.name and stop["pickup_instructions"] == order.store.pickup_instructions
    assert stop["orders"][0]["label_codes"] == [p.label_code for p in order.packages.all()]
    assert stop["orders"][0]["delivery_address"] == order.address
    again = client.post(f"/api/v1/driver/offers/{offered.pk}/accept/")
    assert again.status_code == 409
    # another driver sees neither the offer nor the window
    assert api_for(other).post(f"/api/v1/driver/offers/{offered.pk}/accept/").status_code == 404
    assert api_for(other).get(f"/api/v1/driver/windows/{window.pk}/").status_code == 404


def test_decline(offered, driver):
    response = api_for(driver).post(f"/api/v1/driver/offers/{offered.pk}/decline/")

    assert response.json() == {"id": offered.pk, "status": "declined"}
    assert api_for(driver).get("/api/v1/driver/offers/").json()["results"] == []


@pytest.mark.parametrize("orders", [2, 20])
def test_the_windows_list_runs_a_constant_number_of_queries(offered, driver, window, orders, django_assert_num_queries):
    store = window.orders.get().store
    extra = make_orders(StoreFactory(merchant=store.merchant, site=store.site), orders)
    from pickups.models import Order

    Order.objects.filter(pk__in=[o.pk for o in extra]).update(status="scheduled", pickup_window=window)
    offer_accept(offer=offered, driver=driver)
    client = api_for(driver)

    # the token with its user, driver, count, windows with sites, their orders with stores, their packages
    with django_assert_num_queries(6):
        response = client.get("/api/v1/driver/windows/")

    assert sum(len(stop["orders"]) for stop in response.json()["results"][0]["stops"]) == orders + 1


def test_driver_login_is_rate_limited(driver):
    client = APIClient()
    attempts = [
        client.post("/api/v1/auth/token/", {"username": driver.user.username, "password": "guess"}).status_code
        for _ in range(11)
    ]

    assert attempts == [400] * 10 + [429]
