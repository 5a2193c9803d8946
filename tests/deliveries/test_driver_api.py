"""The driver API: token login, offers, accept/decline, manifests, check-in; only one's own work."""

from decimal import Decimal

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from deliveries.services import offer_accept, window_offer_wave
from tests.factories import PASSWORD, DriverFactory, MembershipFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db


def api_for(driver):
    _, token = AuthToken.objects.create(user=driver.user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


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

    def test_an_expired_token_is_refused(self, driver):
        client = api_for(driver)
        AuthToken.objects.update(expiry=timezone.now())

        assert client.get("/api/v1/driver/offers/").status_code == 401

    def test_a_merchant_login_is_not_a_driver(self):
        merchant_user = MembershipFactory().user
        client = APIClient()
        client.force_login(merchant_user)

        assert client.get("/api/v1/driver/offers/").status_code == 403
        token = APIClient().post("/api/v1/auth/token/", {"username": merchant_user.username, "password": PASSWORD})
        assert token.status_code == 400 and "not a driver" in str(token.json())
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


def test_arrive_with_a_location(offered, driver, window):
    offer_accept(offer=offered, driver=driver)
    client = api_for(driver)

    response = client.post(
        f"/api/v1/driver/windows/{window.pk}/arrive/", {"latitude": "33.3017", "longitude": "-111.897"}, format="json"
    )
    again = client.post(f"/api/v1/driver/windows/{window.pk}/arrive/", {}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    assert again.status_code == 409


@pytest.mark.parametrize("orders", [2, 20])
def test_the_windows_list_runs_a_constant_number_of_queries(offered, driver, window, orders, django_assert_num_queries):
    store = window.orders.get().store
    extra = make_orders(StoreFactory(merchant=store.merchant, site=store.site), orders)
    from pickups.models import Order

    Order.objects.filter(pk__in=[o.pk for o in extra]).update(status="scheduled", pickup_window=window)
    offer_accept(offer=offered, driver=driver)
    client = api_for(driver)

    # token and the user's other tokens (knox prunes expired ones), driver, count, windows with sites,
    # their orders with stores, their packages
    with django_assert_num_queries(7):
        response = client.get("/api/v1/driver/windows/")

    assert sum(len(stop["orders"]) for stop in response.json()["results"][0]["stops"]) == orders + 1


def test_driver_login_is_rate_limited(driver):
    client = APIClient()
    attempts = [
        client.post("/api/v1/auth/token/", {"username": driver.user.username, "password": "guess"}).status_code
        for _ in range(11)
    ]

    assert attempts == [400] * 10 + [429]


class TestPickup:
    @pytest.fixture
    def on_site(self, offered, driver, window):
        offer_accept(offer=offered, driver=driver)
        client = api_for(driver)
        client.post(f"/api/v1/driver/windows/{window.pk}/arrive/", {}, format="json")
        return client

    def labels(self, window):
        return [p.label_code for p in window.orders.get().packages.all()]

    def test_scanning_every_label_picks_the_order_up_and_completes_the_window(self, on_site, window):
        order = window.orders.get()

        response = on_site.post(
            f"/api/v1/driver/windows/{window.pk}/pickup/",
            {"label_codes": [code.lower() for code in self.labels(window)], "latitude": "33.3", "longitude": "-111.9"},
            format="json",
        )

        assert response.status_code == 200
        assert response.json()["picked_up"] == [order.tracking_code] and response.json()["incomplete"] == {}
        assert response.json()["window"]["status"] == "completed"
        order.refresh_from_db()
        assert order.status == "picked_up"
        event = order.events.get(type="order.picked_up")
        assert event.latitude is not None and event.details["labels"] == sorted(self.labels(window))

    def test_a_partly_scanned_order_stays_with_the_store(self, on_site, window):
        first, *rest = self.labels(window)

        body = on_site.post(f"/api/v1/driver/windows/{window.pk}/pickup/", {"label_codes": [first]}, format="json")

        assert body.json()["picked_up"] == [] and body.json()["incomplete"] == {
            window.orders.get().tracking_code: sorted(rest)
        }
        window.refresh_from_db()
        assert window.status == "in_progress"

    def test_a_label_from_elsewhere_is_refused_and_nothing_moves(self, on_site, window):
        [stranger] = make_orders(StoreFactory(), 1)
        codes = [*self.labels(window), stranger.packages.get().label_code]

        response = on_site.post(f"/api/v1/driver/windows/{window.pk}/pickup/", {"label_codes": codes}, format="json")

        assert response.status_code == 400 and "Not in this pickup" in str(response.json()["label_codes"])
        assert window.orders.get().status == "scheduled"

    def test_before_checking_in_is_409(self, offered, driver, window):
        offer_accept(offer=offered, driver=driver)

        response = api_for(driver).post(
            f"/api/v1/driver/windows/{window.pk}/pickup/", {"label_codes": self.labels(window)}, format="json"
        )

        assert response.status_code == 409

    def test_another_driver_gets_404(self, on_site, window):
        response = api_for(DriverFactory()).post(
            f"/api/v1/driver/windows/{window.pk}/pickup/", {"label_codes": self.labels(window)}, format="json"
        )

        assert response.status_code == 404
