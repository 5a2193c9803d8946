"""The order page's pickup block updates itself: its fragment while the order waits for a window, what it
says of the window and of when drivers are asked, in the site's local time; tenancy and query counts."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from common.actors import SYSTEM
from deliveries.services import offer_accept, window_offer_wave
from pickups.ledger import orders_transition
from pickups.models import Order, PickupWindow
from pickups.order_status import drivers_asked_at, drivers_note, pickup_status
from pickups.windows import orders_assign
from tests.factories import MembershipFactory, SiteFactory, StoreFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db

NEW_YORK, PHOENIX = ZoneInfo("America/New_York"), ZoneInfo("America/Phoenix")


def fragment(client, order):
    return client.get(reverse("order_status_fragment", args=[order.pk]))


@pytest.fixture(autouse=True)
def _clock(monday_morning):
    """10:00 AM on Monday 4 January 2027 in Chandler, set before anyone logs in."""


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, name="Desert Bloom Chandler")


@pytest.fixture
def afternoon(store):
    """A window from 2 PM to 4 PM in Chandler: its offers go out at noon (OFFER_LEAD_MINUTES, 120)."""
    return WindowFactory(site=store.site, starts_at=datetime(2027, 1, 4, 21, 0, tzinfo=UTC))


@pytest.fixture
def order(store):
    return make_orders(store, packages=2)[0]


def test_a_ready_order_is_asked_for_again_until_a_worker_schedules_it(owner_client, order, afternoon):
    # given the merchant flags it ready; the worker's task (after the commit) has not run yet
    owner_client.post(reverse("order_ready", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == Order.Status.READY

    # when the page looks
    waiting = fragment(owner_client, order)

    # then it says so, asks again in 3 seconds, and brings the heading's badge along
    body = waiting.content.decode()
    assert waiting.status_code == 200 and "<html" not in body
    assert 'data-live-every="3"' in body and "Waiting for a pickup window" in body
    assert '<span id="order-badge" class="status ready" data-live-oob>Ready for pickup</span>' in body
    assert "no-cache" in waiting["Cache-Control"] or "max-age=0" in waiting["Cache-Control"]

    # when the worker puts it into the 2 PM window
    orders_assign(order_ids=[order.pk], now=timezone.now())
    settled = fragment(owner_client, order).content.decode()

    # then: scheduled, when, when drivers are asked (in Chandler's time), and no more asking
    assert '<span id="order-badge" class="status scheduled" data-live-oob>Scheduled</span>' in settled
    assert "Mon Jan 4, 2:00 PM – 4:00 PM MST" in settled
    assert "Drivers will be asked at 12:00 PM MST, 2 hours before the pickup, nearest first." in settled
    assert 'data-live-every="0"' in settled and "Waiting" not in settled


def test_the_order_page_holds_the_block_in_a_live_region(owner_client, order):
    page = owner_client.get(reverse("order_detail", args=[order.pk])).content.decode()

    url = reverse("order_status_fragment", args=[order.pk])
    assert f'<div id="order-status" data-live-url="{url}" aria-live="polite" aria-atomic="true">' in page
    assert 'src="/static/js/live.js"' in page
    # the heading's badge, which the fragment's copy replaces (data-live-oob only there)
    assert f'<h1>Order {order.external_id} <span id="order-badge" class="status created">Created</span>' in page
    assert 'data-live-every="0"' in page  # a new order waits for the merchant, not for a worker
    assert "Flag it ready once its parcels are packed and labelled" in page


def test_an_order_waiting_long_says_why_and_is_asked_for_less_often(owner_client, order):
    orders_transition(orders=[order], to=Order.Status.READY, actor=SYSTEM)
    Order.objects.filter(pk=order.pk).update(
        ready_at=timezone.now() - timedelta(minutes=10),
        not_scheduled_reason="Every pickup window at Mall 1 until Tuesday, January 5 is full.",
    )

    body = fragment(owner_client, order).content.decode()

    assert "Not scheduled yet: Every pickup window at Mall 1 until Tuesday, January 5 is full." in body
    assert "We look again every minute." in body and 'data-live-every="30"' in body


def test_drivers_being_asked_then_the_driver_who_took_it(owner_client, order, afternoon, driver):
    orders_transition(orders=[order], to=Order.Status.READY, actor=SYSTEM)
    orders_assign(order_ids=[order.pk], now=timezone.now())

    with time_machine.travel(afternoon.starts_at - timedelta(minutes=90), tick=False):
        [offer] = window_offer_wave(window_id=afternoon.pk, now=timezone.now())
        asked = fragment(owner_client, order).content.decode()
        offer_accept(offer=offer, driver=driver)
        taken = fragment(owner_client, order).content.decode()

    assert "Drivers are being asked now, nearest first." in asked
    assert "<dt>Driver</dt><dd>Dee, Silver sedan (Car)</dd>" in taken and "Drivers" not in taken


def test_a_window_inside_the_offer_lead_is_offered_within_a_minute(order, store):
    soon = WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(minutes=90))
    orders_transition(orders=[order], to=Order.Status.READY, actor=SYSTEM)
    orders_assign(order_ids=[order.pk], now=timezone.now() - timedelta(hours=1))
    order = Order.objects.select_related("store__site", "pickup_window").get(pk=order.pk)

    assert order.pickup_window == soon
    assert pickup_status(order, now=timezone.now()).drivers == "Drivers are asked within a minute, nearest first."


def test_when_drivers_are_asked_is_the_sites_local_time_across_a_dst_change(settings):
    # Sunday 14 March 2027, 10 AM at Tysons is EDT; twelve hours earlier it was still EST: 9 PM on Saturday.
    settings.OFFER_LEAD_MINUTES = 720
    tysons = SiteFactory(name="Tysons Corner Center", timezone="America/New_York")
    window = WindowFactory(site=tysons, starts_at=datetime(2027, 3, 14, 10, 0, tzinfo=NEW_YORK))

    at = drivers_asked_at(window, NEW_YORK)

    assert (at.date(), at.hour, at.tzname()) == (date(2027, 3, 13), 21, "EST")
    saturday_noon, friday_noon = datetime(2027, 3, 13, 17, tzinfo=UTC), datetime(2027, 3, 12, 17, tzinfo=UTC)
    expected = "Drivers will be asked at {}, 12 hours before the pickup, nearest first."
    assert drivers_note(window, NEW_YORK, saturday_noon) == expected.format("9:00 PM EST")
    assert drivers_note(window, NEW_YORK, friday_noon) == expected.format("Sat Mar 13, 9:00 PM EST")


@pytest.mark.parametrize(
    ("minutes", "words"), [(120, "2 hours"), (60, "1 hour"), (90, "90 minutes"), (1440, "1 day"), (1, "1 minute")]
)
def test_the_offer_lead_in_words(settings, minutes, words):
    settings.OFFER_LEAD_MINUTES = minutes
    chandler = SiteFactory()
    window = WindowFactory(site=chandler, starts_at=datetime(2027, 1, 4, 23, 0, tzinfo=UTC))  # 4 PM MST

    note = drivers_note(window, PHOENIX, datetime(2027, 1, 3, 12, tzinfo=UTC))

    assert f", {words} before the pickup" in note


def test_missed_and_cancelled_windows_say_nothing_of_drivers(order, afternoon):
    for status in (PickupWindow.Status.MISSED, PickupWindow.Status.CANCELLED):
        afternoon.status = status
        assert drivers_note(afternoon, PHOENIX, timezone.now()) == ""


class TestWhoMaySeeIt:
    def test_another_merchant_gets_a_404(self, client, order):
        client.force_login(MembershipFactory().user)

        assert fragment(client, order).status_code == 404

    def test_anonymous_goes_to_log_in(self, client, order):
        response = fragment(client, order)

        assert response.status_code == 302 and response.url.startswith(reverse("login"))

    def test_a_driver_is_refused(self, client, order, driver):
        client.force_login(driver.user)

        assert fragment(client, order).status_code == 403


@pytest.mark.parametrize("size", ["one parcel, alone", "twenty parcels among thirty orders"])
def test_the_fragment_runs_a_constant_number_of_queries(
    owner_client, store, afternoon, size, django_assert_max_num_queries
):
    big = size.startswith("twenty")
    [order] = make_orders(store, packages=20 if big else 1)
    others = make_orders(StoreFactory(site=store.site), 30) if big else []
    orders_transition(orders=[order, *others], to=Order.Status.READY, actor=SYSTEM)
    orders_assign(now=timezone.now())
    assert Order.objects.get(pk=order.pk).pickup_window_id == afternoon.pk

    # session, user, membership, the order with its store, site and window
    with django_assert_max_num_queries(4):
        response = fragment(owner_client, order)

    assert "Scheduled" in response.content.decode()
