"""The visit at the counters by API: arrive, collect with the store's code and each label, leave."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from common.actors import SYSTEM
from deliveries.models import Offer
from deliveries.services import offer_accept, window_offer_wave, window_taken_follow_up
from merchants.handoff_codes import STEP_SECONDS, store_code
from notifications.models import Notification
from pickups.ledger import orders_transition
from pickups.models import Order, PickupWindow, WindowEvent
from pickups.visits import windows_depart_overdue
from pickups.windows import orders_assign
from tests.deliveries.conftest import api_for, collect
from tests.factories import DriverFactory, MembershipFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db
MILE = Decimal("0.014493")  # of latitude


def labels_of(order):
    return [package.label_code for package in order.packages.all()]


def pickup(client, window, store, labels, code=None):
    return client.post(
        f"/api/v1/driver/windows/{window.pk}/pickup/",
        {"store": store.pk, "store_code": code or store_code(store).code, "label_codes": labels},
        format="json",
    )


def results(response):
    return [(scan["label_code"], scan["result"]) for scan in response.json()["results"]]


@pytest.fixture
def second_store(window):
    """Another shop at the same mall with one order of one package in the same window (ask for it
    before the window is accepted, while it still takes orders)."""
    store = StoreFactory(site=window.site)
    orders = make_orders(store, packages=1)
    orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
    orders_assign(order_ids=[o.pk for o in orders], now=timezone.now() - timedelta(hours=1))
    assert Order.objects.get(pk=orders[0].pk).pickup_window_id == window.pk
    return store


class TestArrive:
    def test_at_the_site_the_visit_starts_and_each_store_hears_who_is_here(self, accepted, driver, at_start):
        store = accepted.orders.get().store
        store.text_on_arrival, store.phone = True, "480-555-0100"
        store.save()

        response = api_for(driver).post(
            f"/api/v1/driver/windows/{accepted.pk}/arrive/",
            {"latitude": str(accepted.site.latitude), "longitude": str(accepted.site.longitude)},
            format="json",
        )

        assert response.status_code == 200 and response.json()["status"] == "in_progress"
        notices = Notification.objects.filter(template="driver_arrived")
        assert {(n.channel, n.recipient) for n in notices} == {("in_app", f"store:{store.pk}"), ("sms", store.phone)}
        assert notices.first().body.startswith("Dee (Silver sedan (Car)) is here for 3 parcels")
        assert WindowEvent.objects.filter(window=accepted, to_status="in_progress").exists()

    def test_too_far_from_the_site_is_a_400_with_the_distance(self, accepted, driver, at_start):
        response = api_for(driver).post(
            f"/api/v1/driver/windows/{accepted.pk}/arrive/",
            {"latitude": str(accepted.site.latitude + 3 * MILE), "longitude": str(accepted.site.longitude)},
            format="json",
        )

        assert response.status_code == 400 and "3.0 miles from" in response.json()["location"][0]
        accepted.refresh_from_db()
        assert accepted.status == "accepted"

    def test_half_a_location_is_a_400(self, accepted, driver, at_start):
        response = api_for(driver).post(
            f"/api/v1/driver/windows/{accepted.pk}/arrive/", {"latitude": "33.3"}, format="json"
        )

        assert response.status_code == 400 and "both latitude and longitude" in str(response.json())

    def test_too_early_is_a_409_saying_when(self, accepted, driver):
        with time_machine.travel(accepted.starts_at - timedelta(minutes=45)):
            response = api_for(driver).post(f"/api/v1/driver/windows/{accepted.pk}/arrive/", {}, format="json")

        assert response.status_code == 409 and "from 11:00 AM MST" in response.json()["detail"]

    def test_arriving_twice_is_a_409(self, on_site, driver):
        response = api_for(driver).post(f"/api/v1/driver/windows/{on_site.pk}/arrive/", {}, format="json")

        assert response.status_code == 409


class TestCollect:
    def test_a_partial_pickup_over_two_calls(self, on_site, driver):
        order = on_site.orders.get()
        first, *rest = labels_of(order)
        client = api_for(driver)

        one = pickup(client, on_site, order.store, [first.lower()])
        order.refresh_from_db()
        assert one.status_code == 200 and results(one) == [(first, "collected")]
        assert order.status == "scheduled" and one.json()["progress"] == [
            {"store": order.store.pk, "collected": 1, "packages": 3}
        ]

        two = pickup(client, on_site, order.store, [first, *rest])

        assert results(two) == [(first, "already_collected")] + [(code, "collected") for code in rest]
        assert two.json()["picked_up"] == [order.tracking_code] and two.json()["window_status"] == "completed"
        order.refresh_from_db()
        assert order.status == "picked_up"
        event = order.events.get(type="order.picked_up")
        assert event.details["store"] == order.store.name and event.details["driver"] == "Dee"
        assert event.details["labels"] == sorted(labels_of(order))

    def test_every_label_gets_its_own_result(self, second_store, on_site, driver):
        order = on_site.orders.get(store__in=[o.store_id for o in on_site.orders.exclude(store=second_store)])
        [stranger] = make_orders(StoreFactory(), 1)
        mine = labels_of(order)[0]
        theirs = second_store.orders.get().packages.get().label_code
        elsewhere = stranger.packages.get().label_code

        response = pickup(api_for(driver), on_site, order.store, [mine, mine, theirs, elsewhere, "NOPE"])

        assert results(response) == [
            (mine, "collected"),
            (theirs, "other_store"),
            (elsewhere, "not_in_this_window"),
            ("NOPE", "unknown"),
        ]
        assert "another store" in response.json()["results"][1]["message"]

    @pytest.mark.parametrize(
        "code_at", [timedelta(seconds=-2 * STEP_SECONDS), timedelta(seconds=STEP_SECONDS)], ids=["expired", "next"]
    )
    def test_a_wrong_or_expired_code_is_a_403_and_nothing_is_recorded(self, on_site, driver, code_at):
        order = on_site.orders.get()
        code = store_code(order.store, at=timezone.now() + code_at).code

        response = pickup(api_for(driver), on_site, order.store, labels_of(order), code=code)

        assert response.status_code == 403 and "store code" in response.json()["detail"]
        assert not order.packages.filter(collected_at__isnull=False).exists()

    def test_the_previous_code_still_works(self, on_site, driver):
        order = on_site.orders.get()
        previous = store_code(order.store, at=timezone.now() - timedelta(seconds=STEP_SECONDS)).code

        response = pickup(api_for(driver), on_site, order.store, labels_of(order)[:1], code=previous)

        assert response.status_code == 200 and results(response)[0][1] == "collected"

    def test_guessing_codes_is_stopped(self, on_site, driver):
        order = on_site.orders.get()
        client = api_for(driver)
        wrong = f"{(int(store_code(order.store).code) + 1) % 1_000_000:06d}"

        statuses = [pickup(client, on_site, order.store, labels_of(order), code=wrong).status_code for _ in range(6)]
        right = pickup(client, on_site, order.store, labels_of(order))

        assert statuses == [403] * 5 + [429] and right.status_code == 429

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"store_code": "123456", "label_codes": ["X"]}, "store"),
            ({"store": "abc", "store_code": "123456", "label_codes": ["X"]}, "store"),
            ({"store": 1, "label_codes": ["X"]}, "store_code"),
            ({"store": 1, "store_code": "123456", "label_codes": []}, "label_codes"),
            ({"store": 1, "store_code": "123456"}, "label_codes"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, on_site, driver, body, field):
        response = api_for(driver).post(f"/api/v1/driver/windows/{on_site.pk}/pickup/", body, format="json")

        assert response.status_code == 400 and field in response.json()

    def test_a_store_without_parcels_in_the_window_is_a_400(self, on_site, driver):
        other = StoreFactory(site=on_site.site)

        response = pickup(api_for(driver), on_site, other, ["X"])

        assert response.status_code == 400 and "no parcels at that store" in response.json()["store"][0]

    def test_before_checking_in_is_a_409(self, accepted, driver, at_start):
        order = accepted.orders.get()

        response = pickup(api_for(driver), accepted, order.store, labels_of(order))

        assert response.status_code == 409 and "Check in" in response.json()["detail"]

    def test_another_driver_gets_404(self, on_site):
        order = on_site.orders.get()

        response = pickup(api_for(DriverFactory()), on_site, order.store, labels_of(order))

        assert response.status_code == 404
        assert api_for(DriverFactory()).post(f"/api/v1/driver/windows/{on_site.pk}/depart/").status_code == 404
        assert api_for(DriverFactory()).post("/api/v1/driver/windows/abc/depart/").status_code == 404


class TestDepart:
    def test_leaving_with_parcels_left_puts_them_back_and_tells_the_merchant(
        self, second_store, on_site, driver, django_capture_on_commit_callbacks
    ):
        order = on_site.orders.exclude(store=second_store).get()
        left = second_store.orders.get()
        owners = {MembershipFactory(merchant=o.merchant).user.email for o in (order, left)}
        client = api_for(driver)
        first = labels_of(order)[0]
        pickup(client, on_site, order.store, [first])  # a half-collected order is left behind too

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/api/v1/driver/windows/{on_site.pk}/depart/")

        assert response.status_code == 200
        body = response.json()
        assert body["window_status"] == "completed"
        assert {row["tracking_code"] for row in body["left_behind"]} == {order.tracking_code, left.tracking_code}
        assert body["hand_back"] == {order.store.name: [first]}
        for moved in (order, left):
            moved.refresh_from_db()
            assert moved.status in ("ready", "scheduled") and moved.pickup_window_id != on_site.pk
            event = moved.events.get(type="order.left_behind")
            assert event.from_status == "scheduled" and event.to_status == "ready"
        assert not order.packages.filter(collected_at__isnull=False).exists()
        on_site.refresh_from_db()
        assert on_site.status == "completed" and on_site.booked_packages == 0
        assert Notification.objects.filter(template="left_behind", channel="in_app").count() == 2
        assert {address for m in mail.outbox if "left at" in m.subject for address in m.to} == owners

    def test_scans_and_a_second_leave_after_leaving_are_409s(self, on_site, driver):
        order = on_site.orders.get()
        client = api_for(driver)
        client.post(f"/api/v1/driver/windows/{on_site.pk}/depart/")

        assert pickup(client, on_site, order.store, labels_of(order)).status_code == 409
        assert client.post(f"/api/v1/driver/windows/{on_site.pk}/depart/").status_code == 409

    def test_leaving_before_arriving_is_a_409(self, accepted, driver):
        response = api_for(driver).post(f"/api/v1/driver/windows/{accepted.pk}/depart/")

        assert response.status_code == 409 and "cannot become completed" in response.json()["detail"]

    def test_the_sweep_ends_a_forgotten_visit(self, on_site, driver, settings):
        settings.DEPART_GRACE_MINUTES = 30
        order = on_site.orders.get()
        collect(on_site, driver, order, labels_of(order)[:1])

        assert windows_depart_overdue(now=on_site.ends_at + timedelta(minutes=29)) == []
        [ended] = windows_depart_overdue(now=on_site.ends_at + timedelta(minutes=31))

        assert [o.pk for o in ended.left_behind] == [order.pk]
        on_site.refresh_from_db()
        order.refresh_from_db()
        assert on_site.status == "completed" and order.status == "ready"
        assert "Nobody ended the visit" in on_site.events.get(to_status="completed").reason


class TestRelease:
    def test_giving_an_accepted_pickup_back_offers_it_again_now(self, accepted, driver):
        response = api_for(driver).post(f"/api/v1/driver/windows/{accepted.pk}/release/")

        assert response.json() == {"id": accepted.pk, "status": "offered"}
        accepted.refresh_from_db()
        assert accepted.driver is None and accepted.driver_name == "" and accepted.next_wave_at <= timezone.now()
        assert Offer.objects.get(window=accepted, driver=driver).status == "released"
        assert accepted.orders.get().events.filter(type="order.driver_released").exists()

    def test_the_drivers_who_lost_the_race_are_asked_again(self, window, driver):
        rival = DriverFactory()
        offers = {o.driver_id: o for o in window_offer_wave(window_id=window.pk, now=timezone.now())}
        offer_accept(offer=offers[driver.pk], driver=driver)
        window_taken_follow_up(window_id=window.pk)
        assert Offer.objects.get(pk=offers[rival.pk].pk).status == "withdrawn"

        api_for(driver).post(f"/api/v1/driver/windows/{window.pk}/release/")

        reopened = Offer.objects.get(pk=offers[rival.pk].pk)
        assert reopened.status == "open" and reopened.expires_at > timezone.now()
        assert Notification.objects.filter(user=rival.user, template="offer_new", channel="in_app").count() == 2
        assert api_for(rival).post(f"/api/v1/driver/offers/{reopened.pk}/accept/").status_code == 200

    def test_after_arriving_it_cannot_be_given_back(self, on_site, driver):
        response = api_for(driver).post(f"/api/v1/driver/windows/{on_site.pk}/release/")

        assert response.status_code == 409
        assert PickupWindow.objects.get(pk=on_site.pk).driver == driver


class TestWhileTheDriverIsAtTheCounter:
    def test_the_merchant_cannot_cancel_or_re_ready_an_order_being_collected(self, on_site, driver):
        order = on_site.orders.get()
        pickup(api_for(driver), on_site, order.store, labels_of(order)[:1])
        merchant = APIClient()
        merchant.force_login(MembershipFactory(merchant=order.merchant).user)

        cancel = merchant.post(f"/api/v1/orders/{order.pk}/cancel/", {"reason": "Oops"}, format="json")
        ready = merchant.post(f"/api/v1/orders/{order.pk}/ready/")

        assert cancel.status_code == 409 and "at the counter" in cancel.json()["detail"]
        assert ready.status_code == 409 and "scheduled already" in ready.json()["detail"]
        order.refresh_from_db()
        assert order.status == "scheduled" and order.packages.filter(collected_at__isnull=False).count() == 1
        on_site.refresh_from_db()
        assert on_site.booked_packages == 3
