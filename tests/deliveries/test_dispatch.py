"""The program team's dispatch in the admin: pickups at risk, offered again wider or given to a driver."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from deliveries.models import Offer
from deliveries.services import window_offer_wave
from notifications.models import Notification
from pickups.models import PickupWindow
from tests.factories import DriverFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:deliveries_dispatch")
# Chandler Fashion Center is at 33.3017: about 0.07 degrees of latitude to the mile.
SEVEN_MILES_NORTH = Decimal("33.403000")


def page(window):
    return reverse("admin:deliveries_dispatch_window", args=[window.pk])


@pytest.fixture
def ops(client):
    client.force_login(UserFactory(username="ops", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def at_risk(window, driver):
    """The morning's window, offered to the one driver near it, who let the offer expire."""
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.EXPIRED)
    PickupWindow.objects.filter(pk=window.pk).update(at_risk=True, next_wave_at=timezone.now() + timedelta(minutes=10))
    window.refresh_from_db()
    return window


def test_the_queue_says_why_each_pickup_is_at_risk_and_the_index_links_to_it(ops, at_risk):
    html = ops.get(QUEUE).content.decode()

    assert "3 packages, no driver." in html
    assert "1 wave sent: 0 still open, 1 expired, 0 declined." in html
    assert page(at_risk) in html and "Offer again, wider" in html
    assert f'href="{QUEUE}"' in ops.get(reverse("admin:index")).content.decode()


def test_offer_again_wider_reaches_the_next_ring_of_drivers_now(ops, at_risk, django_capture_on_commit_callbacks):
    farther = DriverFactory(home_latitude=SEVEN_MILES_NORTH)  # beyond the first wave's 5 miles

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(page(at_risk), {"action": "wider"}, follow=True)

    assert response.redirect_chain[-1][0] == QUEUE
    offer = Offer.objects.get(window=at_risk, driver=farther)
    assert (offer.status, offer.wave) == (Offer.Status.OPEN, 2)
    assert "Offered again to 1 more driver(s), farther out." in response.content.decode()


def test_offer_again_with_nobody_left_says_so_and_changes_nothing(ops, at_risk):
    response = ops.post(page(at_risk), {"action": "wider"}, follow=True)

    assert "No other driver is within reach" in response.content.decode()
    assert Offer.objects.filter(window=at_risk).count() == 1


def test_a_driver_reached_by_phone_gets_the_pickup_even_after_their_offer_expired(
    ops, at_risk, driver, django_capture_on_commit_callbacks
):
    listed = ops.get(page(at_risk)).content.decode()
    assert str(driver) in listed and "Expired" in listed

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(page(at_risk), {"action": "assign", "driver": driver.pk}, follow=True)

    at_risk.refresh_from_db()
    assert (at_risk.status, at_risk.driver_id, at_risk.at_risk) == (PickupWindow.Status.ACCEPTED, driver.pk, False)
    assert Offer.objects.get(window=at_risk, driver=driver).status == Offer.Status.ACCEPTED
    told = Notification.objects.filter(template="window_assigned", user=driver.user)
    assert sorted(told.values_list("channel", flat=True)) == ["in_app", "sms"]
    assert "gave you the pickup at" in told.get(channel="sms").body
    assert f"{driver} has the pickup and has been told." in response.content.decode()


def test_a_driver_busy_at_that_time_is_refused_with_the_reason(ops, at_risk, driver):
    PickupWindow.objects.create(
        site=at_risk.site,
        local_date=at_risk.local_date,
        starts_at=at_risk.starts_at - timedelta(minutes=30),
        ends_at=at_risk.ends_at,
        capacity_packages=60,
        status=PickupWindow.Status.ACCEPTED,
        driver=driver,
    )

    response = ops.post(page(at_risk), {"action": "assign", "driver": driver.pk}, follow=True)

    assert "You already have a pickup at that time." in response.content.decode()
    at_risk.refresh_from_db()
    assert at_risk.driver_id is None


def test_an_unknown_driver_is_404_and_a_started_pickup_is_refused(ops, at_risk, driver):
    assert ops.post(page(at_risk), {"action": "assign", "driver": "abc"}).status_code == 404

    PickupWindow.objects.filter(pk=at_risk.pk).update(starts_at=timezone.now() - timedelta(minutes=1))
    response = ops.post(page(at_risk), {"action": "assign", "driver": driver.pk}, follow=True)

    assert "This pickup has started" in response.content.decode()


def test_staff_who_may_only_look_cannot_dispatch_and_others_are_sent_to_log_in(client, at_risk, driver):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_driver"))
    client.force_login(viewer)

    assert client.get(page(at_risk)).status_code == 200
    assert client.post(page(at_risk), {"action": "assign", "driver": driver.pk}).status_code == 403
    client.logout()
    assert client.get(QUEUE)["Location"].startswith(reverse("admin:login"))
