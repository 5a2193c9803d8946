"""Customers kept informed (text in the store's name, opt-out without login) and the tracking page."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from common.actors import SYSTEM
from deliveries.runs import windows_unannounced
from deliveries.tasks import announce_lost_runs
from merchants.handoff_codes import store_code
from notifications.models import Notification, OptOut
from notifications.services import contact_key, notification_deliver, opt_out
from pickups.customer_messages import customers_tell
from pickups.ledger import orders_transition
from pickups.models import Order
from pickups.visits import window_collect
from pickups.windows import orders_assign
from tests.deliveries.conftest import api_for, collect
from tests.factories import make_orders

pytestmark = pytest.mark.django_db


def texts(template):
    return list(Notification.objects.filter(template=template, channel="sms", to_customer=True).order_by("pk"))


def test_scheduling_tells_the_customer_the_promised_day(window):
    order = window.orders.get()
    [text] = texts("customer_scheduled")

    assert order.promised_date == window.local_date
    assert text.recipient == order.customer_phone
    assert text.body.startswith(f"{order.store.name}: your order {order.external_id} will be delivered on Monday")
    assert f"/track/{order.tracking_code}/" in text.body and f"/track/{order.tracking_code}/stop/" in text.body


def test_collecting_everything_puts_the_parcel_out_for_delivery_with_an_arrival_window(
    on_site, driver, django_capture_on_commit_callbacks
):
    order = on_site.orders.get()

    with django_capture_on_commit_callbacks(execute=True):
        collect(on_site, driver, order)

    event = order.events.get(type="order.out_for_delivery")
    assert event.details["window"] == on_site.pk and event.details["eta_from"] < event.details["eta_to"]
    [text] = texts("customer_out_for_delivery")
    assert "is on its way, arriving between" in text.body
    page = APIClient().get(f"/api/v1/track/{order.tracking_code}/").json()["progress"]
    assert page["headline"] == "Your parcel is on its way." and page["eta_from"] is not None
    assert [step["done"] for step in page["steps"]] == [True, True, True, False, False]


def test_delivered_and_failed_are_told_in_plain_words(
    second_order, on_site, driver, django_capture_on_commit_callbacks
):
    order = on_site.orders.exclude(pk=second_order.pk).get()
    with django_capture_on_commit_callbacks(execute=True):
        collect(on_site, driver, order)
        collect(on_site, driver, second_order)
        client = api_for(driver)
        client.post(f"/api/v1/driver/orders/{order.pk}/deliver/", {"recipient_name": "Jamie"}, format="json")
        client.post(f"/api/v1/driver/orders/{second_order.pk}/fail/", {"reason": "not_home"}, format="json")

    [delivered] = texts("customer_delivered")
    [failed] = texts("customer_delivery_failed")
    assert "was delivered at" in delivered.body and "handed to the customer" in delivered.body
    assert "we could not deliver your order" in failed.body and "(nobody was home)" in failed.body


def test_a_store_can_turn_customer_messages_off(window):
    store = window.orders.get().store
    store.notify_customers = False
    store.save()

    customers_tell(orders=list(Order.objects.select_related("store")), what="scheduled")

    assert len(texts("customer_scheduled")) == 1  # only the one sent while it was on


def test_the_customer_opts_out_without_logging_in_and_hears_nothing_more(window, client):
    order = window.orders.get()
    [pending] = texts("customer_scheduled")
    url = reverse("tracking_stop", args=[order.tracking_code])

    assert "Stop parcel messages?" in client.get(url).content.decode()
    done = client.post(url)

    assert "We won't send you any more messages" in done.content.decode()
    assert OptOut.objects.filter(address=contact_key(order.customer_phone)).exists()
    pending.refresh_from_db()
    assert pending.status == "skipped"
    assert notification_deliver(notification_id=pending.pk) is None  # nothing left to send

    customers_tell(orders=[Order.objects.select_related("store").get(pk=order.pk)], what="delivered")
    assert texts("customer_delivered") == []


def test_a_message_written_before_the_opt_out_is_not_sent_after_it(window):
    [pending] = texts("customer_scheduled")
    opt_out(addresses=[pending.recipient])  # e.g. from another order's page
    Notification.objects.filter(pk=pending.pk).update(status="pending")  # as if written just after

    notification_deliver(notification_id=pending.pk)

    pending.refresh_from_db()
    assert pending.status == "skipped" and pending.attempts == 0


class TestTrackingPage:
    def test_steps_promised_day_and_no_personal_data(self, window, client):
        order = window.orders.get()

        page = client.get(reverse("tracking", args=[order.tracking_code])).content.decode()

        assert f"{order.store.name} has your parcel ready for the driver." in page
        assert "Delivery promised for Monday, January 4" in page
        assert page.count('class="done"') == 1 and 'aria-current="step"' in page and "to come" in page
        for secret in ("Rivera", order.customer_phone, order.address_line1, "jamie@example.com"):
            assert secret not in page

    def test_after_delivery_it_says_how_without_the_photo(self, on_site, driver, client):
        order = on_site.orders.get()
        collect(on_site, driver, order)
        api_for(driver).post(
            f"/api/v1/driver/orders/{order.pk}/deliver/", {"recipient_name": "Jamie Rivera"}, format="json"
        )

        page = client.get(reverse("tracking", args=[order.tracking_code])).content.decode()

        assert "Your parcel was delivered." in page and "Handed to the customer, Monday, January 4" in page
        assert page.count('class="done"') == 5 and "Rivera" not in page and "/proof/" not in page

    def test_an_unknown_code_gets_a_friendly_404(self, client):
        response = client.get(reverse("tracking", args=["NOSUCHCODE12"]))

        assert response.status_code == 404 and "We can't find that parcel" in response.content.decode()
        assert client.post(reverse("tracking_stop", args=["NOSUCHCODE12"])).status_code == 404


@pytest.fixture
def second_order(window):
    """A second order of the same store in the window, scheduled before the window is taken."""
    [order] = make_orders(window.orders.get().store)
    orders_transition(orders=[order], to=Order.Status.READY, actor=SYSTEM)
    orders_assign(order_ids=[order.pk], now=timezone.now() - timedelta(hours=1))
    order.refresh_from_db()
    assert order.pickup_window_id == window.pk
    return order


def test_an_opt_out_holds_however_the_number_is_written(window, client):
    order = window.orders.get()  # 480-555-0199
    client.post(reverse("tracking_stop", args=[order.tracking_code]))
    [other] = make_orders(window.orders.get().store, customer_phone="(480) 555 0199")
    other = Order.objects.select_related("store").get(pk=other.pk)

    customers_tell(orders=[other], what="scheduled")

    assert not Notification.objects.filter(recipient="(480) 555 0199").exists()
    assert OptOut.objects.filter(address="+14805550199").exists()


def test_a_run_whose_announcement_was_lost_is_announced_by_the_sweep(on_site, driver):
    order = on_site.orders.get()
    window_collect(  # as if the task queued when the visit ended was lost
        window_id=on_site.pk,
        driver_id=driver.pk,
        store_id=order.store_id,
        store_code=store_code(order.store).code,
        label_codes=[p.label_code for p in order.packages.all()],
        actor=SYSTEM,
        now=timezone.now(),
    )
    on_site.refresh_from_db()

    with time_machine.travel(on_site.completed_at + timedelta(minutes=3)):
        assert windows_unannounced(now=timezone.now()) == [on_site.pk]  # a JSON key against an id, on any database
        assert announce_lost_runs() == 1
        assert windows_unannounced(now=timezone.now()) == []
    assert order.events.filter(type="order.out_for_delivery").count() == 1
