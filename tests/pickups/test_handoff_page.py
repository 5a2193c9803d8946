"""The store's Handoff page: the store code, today's pickups with each parcel's scan, parcels left
behind and the store's notices, in the site's local time; only for the store's own merchant."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from common.actors import SYSTEM
from merchants.handoff_codes import store_code
from notifications.models import Notification
from pickups.ledger import events_append, order_event, order_transition
from pickups.models import Order, Package, PickupWindow
from tests.factories import DriverFactory, MembershipFactory, StoreFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db

# 2:00 PM in Chandler (UTC-7) on the window fixture's Monday.
MONDAY_2PM = datetime(2027, 1, 4, 21, 0, tzinfo=UTC)


@pytest.fixture
def store(window):
    """The store whose order of 3 packages is booked in `window` (today, 11:30 AM in Chandler)."""
    return window.orders.get().store


@pytest.fixture
def counter(client, store):
    """A logged-in owner of the store's merchant."""
    client.force_login(MembershipFactory(merchant=store.merchant).user)
    return client


def handoff(client, store, **headers):
    return client.get(reverse("store_handoff", args=[store.pk]), **headers)


def schedule(orders, window):
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(
        status=Order.Status.SCHEDULED, pickup_window=window
    )


def leave_behind(order, at=None):
    """What a driver's departure writes for an order they did not take: ready again, with a ledger event."""
    if at is None:
        return order_transition(order=order, to=Order.Status.READY, actor=SYSTEM, event_type="order.left_behind")
    events_append([order_event(order, "order.left_behind", SYSTEM, at, Order.Status.SCHEDULED, Order.Status.READY, {})])
    Order.objects.filter(pk=order.pk).update(status=Order.Status.READY, pickup_window=None)
    return order


def notice(store, body, **fields):
    return Notification.objects.create(
        channel=Notification.Channel.IN_APP,
        recipient=store.notice_recipient,
        template="driver_arrived",
        body=body,
        next_attempt_at=timezone.now(),
        **fields,
    )


def test_the_page_shows_the_store_code_and_when_it_changes(counter, store):
    # given 2 minutes 30 seconds before the next 5-minute mark (10:05 AM in Chandler)
    with time_machine.travel(datetime(2027, 1, 4, 17, 2, 30, tzinfo=UTC), tick=False):
        # when
        response = handoff(counter, store)
        code = store_code(store)
        api = counter.get(f"/api/v1/stores/{store.pk}/handoff-code/", HTTP_ACCEPT="application/json")

    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert f'<p class="code-digits mono" data-code>{code.code}</p>' in page
    assert "Changes in <strong data-countdown>2:30</strong>" in page and "(at <span data-changes-at>10:05 AM" in page
    assert "every 5 minutes" in page and "previous one still works" in page
    assert f'data-api="/api/v1/stores/{store.pk}/handoff-code/"' in page and "js/handoff.js" in page
    assert api.json()["code"] == code.code  # what the script fetches when the code changes
    assert "no-store" in response["Cache-Control"]


def test_the_driver_copied_on_the_window_shows(counter, store, window):
    PickupWindow.objects.filter(pk=window.pk).update(
        status=PickupWindow.Status.IN_PROGRESS,
        driver_name="Luis",
        driver_vehicle="Blue Honda Pilot (SUV)",
        arrived_at=datetime(2027, 1, 4, 18, 25, tzinfo=UTC),
    )

    page = handoff(counter, store).content.decode()

    assert "11:30 AM – 1:30 PM MST" in page and "Driver on site" in page
    assert "Luis" in page and "Blue Honda Pilot (SUV)" in page and "arrived at 11:25 AM" in page
    assert 'data-in-progress="true"' in page and 'data-live-every="5"' in page  # live.js looks every 5 s


def test_a_driver_on_site_before_midnight_for_a_window_after_it_shows(counter, store, window):
    # given a driver at the counter at 11:55 PM for a window that starts at 12:05 AM, tomorrow's local date
    tomorrow = window.local_date + timedelta(days=1)
    starts_at = datetime(2027, 1, 5, 7, 5, tzinfo=UTC)  # 12:05 AM in Chandler
    PickupWindow.objects.filter(pk=window.pk).update(
        status=PickupWindow.Status.IN_PROGRESS,
        local_date=tomorrow,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        driver_name="Luis",
    )

    with time_machine.travel(datetime(2027, 1, 5, 6, 55, tzinfo=UTC), tick=False):  # 11:55 PM on Monday
        response = handoff(counter, store)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Luis</strong>" in page and "<strong>0</strong> of 3 parcels collected" in page


def test_a_window_without_a_driver_refreshes_slowly(counter, store):
    page = handoff(counter, store).content.decode()

    assert "No driver yet" in page and 'data-in-progress="false"' in page and 'data-live-every="60"' in page


def test_collected_and_waiting_parcels_of_this_store_only(counter, store, window):
    # given one of the 3 parcels scanned, a picked-up order, and parcels of others in the same window
    [waiting] = window.orders.all()
    first = waiting.packages.order_by("sequence").first()
    Package.objects.filter(pk=first.pk).update(collected_at=timezone.now())
    [taken] = make_orders(store, customer_name="Ana Lopez")
    schedule([taken], window)
    Order.objects.filter(pk=taken.pk).update(status=Order.Status.PICKED_UP)
    [sister] = make_orders(StoreFactory(merchant=store.merchant, site=store.site))
    [other] = make_orders(StoreFactory(site=store.site))
    schedule([sister, other], window)
    tomorrow = WindowFactory(site=store.site, starts_at=window.starts_at + timedelta(days=1))
    [later] = make_orders(store)
    schedule([later], tomorrow)

    # when
    page = handoff(counter, store).content.decode()

    # then
    assert page.count('class="badge ok"') == 2 and page.count('class="badge waiting"') == 2
    assert "<strong>2</strong> of 4 parcels collected" in page
    assert waiting.external_id in page and "Jamie" in page
    assert taken.external_id in page and "Ana" in page
    assert first.label_code in page
    assert sister.external_id not in page and other.external_id not in page and later.external_id not in page


def test_a_left_behind_order_is_listed_with_its_next_pickup(counter, store, window):
    # given two orders the driver left at 10:00 AM, one of them scheduled again at 2:00 PM, and one left yesterday
    [waiting] = window.orders.all()
    left, again, yesterday = make_orders(store, 3)
    schedule([left, again, yesterday], window)
    leave_behind(left)
    leave_behind(again)
    afternoon = WindowFactory(site=store.site, starts_at=MONDAY_2PM)
    schedule([again], afternoon)
    leave_behind(yesterday, at=timezone.now() - timedelta(days=1))

    # when
    page = handoff(counter, store).content.decode()

    # then
    left_section = page.split("Left behind today")[1]
    assert left.external_id in left_section and again.external_id in left_section
    assert "Left at the store at 10:00 AM; goes into the next pickup." in left_section
    assert "Left at the store at 10:00 AM; goes into the next pickup, at 2:00 PM." in left_section
    assert "Keep their parcels at hand" in left_section
    assert left.packages.get().label_code in left_section
    assert yesterday.external_id not in page and waiting.external_id not in left_section


def test_the_latest_notices_of_today_newest_first(counter, store):
    for number in range(1, 8):
        notice(store, f"Notice {number}.")
    Notification.objects.filter(body="Notice 7.").update(created_at=timezone.now() - timedelta(days=1))
    Notification.objects.create(
        channel=Notification.Channel.IN_APP,
        recipient=StoreFactory().notice_recipient,
        template="driver_arrived",
        body="Another store's notice.",
        next_attempt_at=timezone.now(),
    )

    page = handoff(counter, store).content.decode()

    shown = [number for number in range(1, 8) if f"Notice {number}." in page]
    assert shown == [2, 3, 4, 5, 6]
    assert page.index("Notice 6.") < page.index("Notice 2.")
    assert "Another store" not in page


def test_x_partial_returns_only_the_live_section(counter, store, window):
    response = handoff(counter, store, HTTP_X_PARTIAL="1")

    body = response.content.decode()
    assert response.status_code == 200
    # live.js asks again after data-live-every seconds: a minute with no driver on site
    assert body.lstrip().startswith('<div class="handoff-live" data-in-progress="false" data-live-every="60">')
    assert window.orders.get().external_id in body
    assert "<html" not in body and "data-code" not in body
    assert "X-Partial" in response["Vary"] and "no-store" in response["Cache-Control"]


def test_the_store_list_links_to_each_handoff_page(counter, store):
    page = counter.get(reverse("store_list")).content.decode()

    assert f'href="{reverse("store_handoff", args=[store.pk])}"' in page


def test_another_merchants_store_is_a_404(store, owner_client):  # the clock is set before the login
    assert handoff(owner_client, store).status_code == 404
    assert handoff(owner_client, store, HTTP_X_PARTIAL="1").status_code == 404


def test_anonymous_is_sent_to_log_in(client, store):
    response = handoff(client, store)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_driver_login_is_refused(client, store):
    client.force_login(DriverFactory().user)

    assert handoff(client, store).status_code == 403


@pytest.mark.parametrize("orders", [1, 15])
def test_the_page_runs_a_constant_number_of_queries(counter, store, window, orders, django_assert_max_num_queries):
    # given `orders` more orders in the window, as many left behind (half scheduled again), and notices
    schedule(make_orders(store, orders, packages=2), window)
    left = make_orders(store, orders)
    schedule(left, window)
    for order in left:
        leave_behind(order)
    schedule(left[::2], WindowFactory(site=store.site, starts_at=MONDAY_2PM))
    for number in range(orders):
        notice(store, f"Notice {number}.")

    # session, user, membership, store with site, its hours, its closures; windows, their orders,
    # packages; left-behind orders with their window, their packages; notices
    with django_assert_max_num_queries(12):
        response = handoff(counter, store)
    with django_assert_max_num_queries(12):
        partial = handoff(counter, store, HTTP_X_PARTIAL="1")

    assert response.content.decode().count('class="badge waiting"') == 3 + 2 * orders + len(left[::2])
    assert partial.content.decode().count("Left at the store at") == orders
