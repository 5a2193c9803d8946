"""The driver's scan page on a phone (375 x 812) in a real browser: a store's code, then each label as a
keyboard-wedge scanner types it, answered in place without a reload; then leaving the site."""

from datetime import time, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from common.actors import SYSTEM, Actor
from deliveries.services import offer_accept, window_offer_wave
from merchants.handoff_codes import store_code, store_code_is_valid
from pickups import visits
from pickups.ledger import orders_transition
from pickups.models import Order, Package
from pickups.windows import orders_assign
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import too_small
from tests.factories import PASSWORD, DriverFactory, SiteFactory, StoreFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 812}
# The stores are open all day, so the orders fit the window at whatever hour the test runs.
ALL_DAY = {day: (time(0), time(23, 59, 59)) for day in range(7)}
TAP_TARGETS = "form.scan button, form.scan input:not([type=hidden]), .leave button"
SCREENSHOT = settings.BASE_DIR / "var" / "e2e" / "scan-page.png"


@pytest.fixture
def visit(db):
    """A driver checked in at a window starting in 10 minutes: 2 parcels at one store, 1 at another."""
    site = SiteFactory(name="Chandler Fashion Center")
    bloom = StoreFactory(site=site, name="Desert Bloom Chandler", unit="1120", hours=ALL_DAY)
    kicks = StoreFactory(site=site, name="Capital Kicks Chandler", unit="2040", hours=ALL_DAY)
    window = WindowFactory(site=site, starts_at=timezone.now() + timedelta(minutes=10))
    orders = make_orders(bloom, packages=2, service_level="two_day") + make_orders(kicks, service_level="two_day")
    orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
    # As if assigned an hour ago: a window must start PICKUP_LEAD_MINUTES after the assignment.
    orders_assign(order_ids=[order.pk for order in orders], now=timezone.now() - timedelta(hours=1))
    window.refresh_from_db()
    assert window.booked_packages == 3

    driver = DriverFactory(user__first_name="Luis")
    (offer,) = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)
    visits.window_arrive(window_id=window.pk, driver_id=driver.pk, actor=Actor.of_user(driver.user), now=timezone.now())
    return {"window": window, "driver": driver, "bloom": bloom, "kicks": kicks}


def scan(page, store, label):
    """What a keyboard-wedge scanner does: type the label into the focused field, then Enter."""
    page.locator(f"#label-{store.pk}").click()
    page.keyboard.type(label)
    page.keyboard.press("Enter")


def test_a_driver_collects_one_stores_parcels_on_a_phone_and_leaves(page, live_server, visit):
    window, driver, bloom, kicks = visit["window"], visit["driver"], visit["bloom"], visit["kicks"]
    first, second = Package.objects.filter(order__store=bloom).order_by("sequence").values_list("label_code", flat=True)
    page.set_viewport_size(PHONE)

    # the driver logs in and opens the pickup
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(driver.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    scan_url = f"{live_server.url}/driver/windows/{window.pk}/"
    page.goto(scan_url)
    page.evaluate("window.scanPageMarker = 'not reloaded'")
    stop = page.locator(f'.stop[data-store="{bloom.pk}"]')
    results = stop.locator(".scan-results li")
    expect(stop.locator(".count")).to_contain_text("0 of 2")

    # a wrong store code: a red answer, and nothing is recorded
    wrong = next(code for code in ("000000", "111111", "222222") if not store_code_is_valid(bloom, code))
    page.locator(f"#code-{bloom.pk}").fill(wrong)
    scan(page, bloom, first)
    expect(results.first).to_have_class("bad")
    expect(results.first).to_contain_text("Wrong or expired store code")
    assert not Package.objects.filter(collected_at__isnull=False).exists()
    expect(stop.locator(".count")).to_contain_text("0 of 2")

    # the store's code, then each label: green answers and the count goes up, in place
    page.locator(f"#code-{bloom.pk}").fill(store_code(bloom).code)
    scan(page, bloom, first)
    expect(results.first).to_have_text(f"{first}: Collected.")
    expect(results.first).to_have_class("ok")
    expect(stop.locator(".count")).to_contain_text("1 of 2")
    scan(page, bloom, second)
    expect(results.first).to_have_text(f"{second}: Collected.")
    expect(stop.locator(".count")).to_contain_text("2 of 2")
    expect(stop.locator(f'.parcel[data-label="{second}"] .state')).to_have_text("Collected")

    # a label nobody knows: a red answer
    scan(page, bloom, "ZZ00NOSUCHLABEL")
    expect(results.first).to_have_class("bad")
    expect(results.first).to_contain_text("ZZ00NOSUCHLABEL: Not a label we know")

    # no reload happened: same address, and what the page's script holds is still there
    assert page.url == scan_url
    assert page.evaluate("window.scanPageMarker") == "not reloaded"
    assert Order.objects.get(store=bloom).status == Order.Status.PICKED_UP
    assert Order.objects.get(store=kicks).status == Order.Status.SCHEDULED

    # a phone's thumb: every button and field at least 44 px tall, nothing wider than the screen
    small, measured = too_small(page, TAP_TARGETS)
    assert measured >= 7  # per store a code, a label and "Add"; then "Leave the site"
    assert small == {}
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page, what="the scan page, after scans")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)

    # leaving: the other store's order stays behind, the collected one is on the driver's run
    page.get_by_role("button", name="Leave the site").click()
    page.wait_for_url(f"{live_server.url}/driver/run/")
    expect(page.locator(".messages")).to_contain_text("Visit ended. 1 order stays with the stores.")
    left = Order.objects.get(store=kicks)
    expect(page.locator(".messages")).to_contain_text(f"Left with {kicks.name}: {left.external_id}.")
    run = page.locator("article.run-stop")
    expect(run).to_have_count(1)
    expect(run).to_contain_text("from Desert Bloom Chandler")
    assert_accessible(page, what="the run, with the visit's messages")
    assert Order.objects.get(store=kicks).status == Order.Status.READY
