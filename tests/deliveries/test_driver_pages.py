"""The driver's pages on a phone: offers, accept, manifest, check-in; only their own work."""

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries.services import offer_accept, window_offer_wave
from tests.factories import DriverFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver_client(client, driver):
    client.force_login(driver.user)
    return client


def test_a_driver_lands_on_their_offers_and_accepts_one(driver_client, driver, window):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())

    assert driver_client.get(reverse("home")).url == reverse("driver_home")
    page = driver_client.get(reverse("driver_home")).content.decode()
    assert window.site.name in page and "<strong>3</strong> packages" in page and "<strong>1</strong> stop" in page

    response = driver_client.post(reverse("driver_offer_accept", args=[offer.pk]), follow=True)

    manifest = response.content.decode()
    order = window.orders.get()
    assert "The pickup is yours" in manifest
    assert order.customer_name in manifest and order.packages.first().label_code in manifest


def test_a_taken_offer_says_so(driver_client, driver, window):
    rival = DriverFactory()
    offers = {o.driver_id: o for o in window_offer_wave(window_id=window.pk, now=timezone.now())}
    offer_accept(offer=offers[rival.pk], driver=rival)

    response = driver_client.post(reverse("driver_offer_accept", args=[offers[driver.pk].pk]), follow=True)

    assert "no longer be accepted" in response.content.decode()


def test_decline_and_check_in(driver_client, driver, window):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    driver_client.post(reverse("driver_offer_decline", args=[offer.pk]))
    offer.refresh_from_db()
    assert offer.status == "declined"


def test_check_in_from_the_manifest(driver_client, driver, window):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)

    response = driver_client.post(reverse("driver_window_arrive", args=[window.pk]), follow=True)

    assert "Checked in" in response.content.decode()
    window.refresh_from_db()
    assert window.status == "in_progress"


def test_other_drivers_work_is_not_found(client, driver, window):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)
    client.force_login(DriverFactory().user)

    assert client.get(reverse("driver_window", args=[window.pk])).status_code == 404
    assert client.post(reverse("driver_offer_accept", args=[offer.pk])).status_code == 404
    assert client.post(reverse("driver_window_arrive", args=[window.pk])).status_code == 404


def test_merchants_cannot_open_driver_pages(client):
    client.force_login(MembershipFactory().user)

    assert client.get(reverse("driver_home")).status_code == 403


def test_anonymous_visitors_go_to_login(client):
    response = client.get(reverse("driver_home"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("drivers", [2, 15])
def test_the_driver_home_runs_a_constant_number_of_queries(
    client, window, drivers, settings, django_assert_num_queries
):
    settings.OFFER_WAVE_SIZE = drivers
    everyone = [DriverFactory() for _ in range(drivers)]
    window_offer_wave(window_id=window.pk, now=timezone.now())
    client.force_login(everyone[0].user)

    # session, user, driver, offers with sites and stops, windows (none yet), in-app messages
    with django_assert_num_queries(6):
        assert client.get(reverse("driver_home")).status_code == 200


def test_collecting_parcels_from_the_manifest(driver_client, driver, window):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)
    driver_client.post(reverse("driver_window_arrive", args=[window.pk]))
    labels = [p.label_code for p in window.orders.get().packages.all()]

    page = driver_client.get(reverse("driver_window", args=[window.pk])).content.decode()
    response = driver_client.post(
        reverse("driver_window_pickup", args=[window.pk]), {"label_codes": labels}, follow=True
    )

    assert all(f'value="{code}"' in page for code in labels)
    assert response.redirect_chain[-1][0] == reverse("driver_home") and response.status_code == 200
    assert "1 order(s) picked up" in response.content.decode()
    window.refresh_from_db()
    assert window.status == "completed"
