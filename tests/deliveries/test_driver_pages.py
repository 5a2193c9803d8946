"""The driver's pages on a phone: offers, accept, manifest, check-in; only their own work."""

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries.services import offer_accept, window_offer_wave
from merchants.handoff_codes import store_code
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

    assert "Already taken" in response.content.decode()


def test_decline_and_check_in(driver_client, driver, window):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    driver_client.post(reverse("driver_offer_decline", args=[offer.pk]))
    offer.refresh_from_db()
    assert offer.status == "declined"


def test_check_in_from_the_manifest(driver_client, accepted, at_start):
    page = driver_client.get(reverse("driver_window", args=[accepted.pk])).content.decode()
    assert "I'm here" in page and "give this pickup back" in page

    response = driver_client.post(reverse("driver_window_arrive", args=[accepted.pk]), follow=True)

    assert "Checked in" in response.content.decode()
    accepted.refresh_from_db()
    assert accepted.status == "in_progress"


def test_a_check_in_far_from_the_site_says_how_far(driver_client, accepted, at_start):
    far = {"latitude": str(accepted.site.latitude + 1), "longitude": str(accepted.site.longitude)}

    response = driver_client.post(reverse("driver_window_arrive", args=[accepted.pk]), far, follow=True)

    assert "69.1 miles from" in response.content.decode()
    accepted.refresh_from_db()
    assert accepted.status == "accepted"


def test_other_drivers_work_is_not_found(client, driver, window):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)
    client.force_login(DriverFactory().user)

    assert client.get(reverse("driver_window", args=[window.pk])).status_code == 404
    assert client.post(reverse("driver_offer_accept", args=[offer.pk])).status_code == 404
    for name in ("driver_window_arrive", "driver_window_pickup", "driver_window_depart", "driver_window_release"):
        assert client.post(reverse(name, args=[window.pk])).status_code == 404


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

    # session, user, driver, offers with sites and stops, windows (none yet), parcels in care (none), in-app messages
    with django_assert_num_queries(7):
        assert client.get(reverse("driver_home")).status_code == 200


def test_the_scan_page_works_without_javascript(driver_client, on_site):
    order = on_site.orders.get()
    labels = [p.label_code for p in order.packages.all()]
    code = store_code(order.store).code
    scan = {"store": order.store.pk, "store_code": code}

    page = driver_client.get(reverse("driver_window", args=[on_site.pk])).content.decode()
    first = driver_client.post(reverse("driver_window_pickup", args=[on_site.pk]), scan | {"label_codes": labels[0]})
    again = driver_client.get(first.url).content.decode()

    assert "0</strong> of 3 parcels" in page and "Store code" in page
    assert "1</strong> of 3 parcels" in again and f"{labels[0]}: Collected." in again
    assert f'value="{code}"' in again  # the store code is remembered for the next scan
    for label in labels[1:]:
        last = driver_client.post(reverse("driver_window_pickup", args=[on_site.pk]), scan | {"label_codes": label})
    assert last.url == reverse("driver_home")
    order.refresh_from_db()
    assert order.status == "picked_up"
    home = driver_client.get(reverse("driver_home")).content.decode()
    assert "In your care" in home and order.tracking_code in home and "the visit is over" in home


def test_a_wrong_code_or_no_label_on_the_scan_page_says_why(driver_client, on_site):
    order = on_site.orders.get()
    url = reverse("driver_window_pickup", args=[on_site.pk])

    wrong = driver_client.post(url, {"store": order.store.pk, "store_code": "000000", "label_codes": "X"}, follow=True)
    empty = driver_client.post(url, {"store": order.store.pk, "store_code": "1"}, follow=True)

    assert "Wrong or expired store code" in wrong.content.decode()
    assert "Scan or type a label." in empty.content.decode()


def test_leaving_says_what_stays_and_what_to_give_back(driver_client, on_site):
    order = on_site.orders.get()
    first = order.packages.first().label_code
    scan = {"store": order.store.pk, "store_code": store_code(order.store).code, "label_codes": first}
    driver_client.post(reverse("driver_window_pickup", args=[on_site.pk]), scan)

    response = driver_client.post(reverse("driver_window_depart", args=[on_site.pk]), follow=True)

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("driver_run")
    assert f"Give back to {order.store.name} before you go: {first}." in page
    assert "1 order stays with the stores" in page


def test_giving_a_pickup_back(driver_client, accepted):
    response = driver_client.post(reverse("driver_window_release", args=[accepted.pk]), follow=True)

    assert "You gave the pickup back" in response.content.decode()
    accepted.refresh_from_db()
    assert accepted.status == "offered" and accepted.driver is None
