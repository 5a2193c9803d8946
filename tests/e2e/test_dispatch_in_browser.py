"""A work queue's one-click action in a real browser (Debian's Chromium): a program admin finds the pickup at risk
from the admin index, and gives it to a driver they reached by phone, on a desktop and on a phone."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from deliveries.models import Offer
from deliveries.services import window_offer_wave
from pickups.models import PickupWindow
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "var" / "e2e"
SIZES = {"desktop": (1280, 800), "phone": (375, 812)}


@pytest.fixture
def monday_morning():
    """tests/conftest.py's Monday 10:00 in Chandler, ticking: the browser and the live server wait on real time."""
    with time_machine.travel(datetime(2027, 1, 4, 17, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def at_risk(window, driver):
    """The morning's window, offered to the one driver near it, who let the offer expire."""
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.EXPIRED)
    PickupWindow.objects.filter(pk=window.pk).update(at_risk=True, next_wave_at=timezone.now() + timedelta(minutes=10))
    return window


@pytest.mark.parametrize("size", SIZES)
def test_an_admin_gives_a_pickup_at_risk_to_a_driver_from_the_queue(page, live_server, at_risk, driver, size):
    admin = UserFactory(username="ops", is_staff=True, is_superuser=True)
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # the index counts the queue; its link leads to the pickups at risk, each saying why
    queue = page.get_by_role("link", name="Pickups at risk: no driver yet")
    expect(queue).to_be_visible()
    expect(page.locator("body")).to_contain_text("Pickups at risk: no driver yet")
    queue.click()
    expect(page.locator("#content")).to_contain_text("3 packages, no driver.")
    page.locator(f'a[href$="/dispatch/{at_risk.pk}/"]').first.click()
    expect(page.get_by_role("button", name="Offer again, wider")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / f"admin-dispatch-{size}.png", full_page=True)

    # one click gives it to the driver reached by phone
    page.get_by_role("button", name=f"Give the pickup to {driver}").click()

    expect(page.locator("ul.messagelist")).to_contain_text(f"{driver} has the pickup and has been told.")
    at_risk.refresh_from_db()
    assert (at_risk.status, at_risk.driver_id, at_risk.at_risk) == (PickupWindow.Status.ACCEPTED, driver.pk, False)
    expect(page.locator("#content")).not_to_contain_text("3 packages, no driver.")
