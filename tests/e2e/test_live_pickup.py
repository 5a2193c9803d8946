"""Pickups in a real browser (Debian's Chromium): the order page shows "Scheduled" by itself once a worker has
put the order into a window, and the pickup schedule's day timeline on a phone, under the site's
Content-Security-Policy and axe-core. Screenshots go to var/e2e/ with the other browser tests'."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from common.actors import SYSTEM, Actor
from deliveries.services import offer_accept, window_offer_wave
from merchants.handoff_codes import store_code
from pickups import visits
from pickups.ledger import orders_transition
from pickups.models import Order
from pickups.windows import orders_assign
from tests.e2e.accessibility import assert_accessible
from tests.e2e.test_csp import REPORT_VIOLATIONS
from tests.factories import DriverFactory, SiteFactory, StoreFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 812}
# The store is open all day, so the order fits a window at whatever hour the test runs.
ALL_DAY = {day: (time(0), time(23, 59, 59)) for day in range(7)}
SCREENSHOTS = settings.BASE_DIR / "var" / "e2e"


@pytest.fixture
def policy_violations(page):
    reported = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: "securitypolicyviolation" in message.text and reported.append(message.text))
    return reported


@pytest.fixture
def chandler(db):
    return SiteFactory(name="Chandler Fashion Center")


def test_flag_ready_then_scheduled_appears_without_a_reload(
    logged_in, live_server, merchant, chandler, policy_violations
):
    page = logged_in
    store = StoreFactory(merchant=merchant, site=chandler, name="Desert Bloom Chandler", hours=ALL_DAY)
    [order] = make_orders(store, packages=2, service_level="two_day")
    page.goto(f"{live_server.url}/orders/{order.pk}/")

    # when the merchant flags it ready (the worker, run at the commit here, finds no window yet)
    page.get_by_role("button", name="Flag ready for pickup").click()
    pickup = page.locator("#order-status")
    expect(pickup).to_contain_text(re.compile("Not scheduled yet|Waiting for a pickup window"))
    expect(page.locator("h1 .status")).to_have_text("Ready for pickup")
    page.evaluate("window.notReloaded = true")

    # and a window is planned, and the worker's sweep puts the order into it
    starts = timezone.now() + timedelta(hours=3)
    window = WindowFactory(site=chandler, starts_at=starts)
    assert orders_assign(order_ids=[order.pk], now=timezone.now()).scheduled == [order.pk]

    # then the page says so by itself, in the aria-live region and in the heading
    expect(pickup).to_contain_text("Scheduled", timeout=15000)
    expect(page.locator("h1 .status")).to_have_text("Scheduled")
    local = timezone.localtime(window.starts_at, ZoneInfo(chandler.timezone))
    expect(pickup).to_contain_text(f"{local:%-I:%M %p} – ")
    expect(pickup).to_contain_text("Drivers will be asked at")
    assert page.get_attribute("#order-status", "aria-live") == "polite"
    assert page.evaluate("window.notReloaded") is True
    assert Order.objects.get(pk=order.pk).pickup_window_id == window.pk
    assert_accessible(page, what="the order page, scheduled while it was open")
    assert policy_violations == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "order-scheduled.png", full_page=True)


def test_the_schedule_timeline_on_a_phone(logged_in, live_server, merchant, chandler, policy_violations):
    page = logged_in
    page.set_viewport_size(PHONE)
    store = StoreFactory(merchant=merchant, site=chandler, name="Desert Bloom Chandler", hours=ALL_DAY)
    neighbour = StoreFactory(site=chandler, name="Neon Threads Chandler", hours=ALL_DAY)
    zone = ZoneInfo(chandler.timezone)
    today = timezone.localdate(timezone=zone)
    for day, opens, mine, theirs in [(today, 11, 2, 1), (today, 15, 1, 0), (today + timedelta(days=1), 12, 3, 2)]:
        starts = datetime.combine(day, time(opens), tzinfo=zone)
        window = WindowFactory(site=chandler, starts_at=starts, local_date=day, booked_packages=mine * 2 + theirs)
        orders = [*make_orders(store, mine, packages=2), *make_orders(neighbour, theirs)]
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(status="scheduled", pickup_window=window)

    page.goto(f"{live_server.url}/pickups/")

    section = page.get_by_role("region", name="Chandler Fashion Center")
    expect(section.locator(".day-line:not(.day-axis)")).to_have_count(2)
    table = section.get_by_role("table", name=f"Pickups at Chandler Fashion Center on {today:%A, %B} {today.day}")
    expect(table).to_contain_text("11:00 AM – 1:00 PM MST")
    expect(table).to_contain_text("4 in 2 orders")
    expect(table).to_contain_text("5 / 60")
    track = section.locator("svg.day-track").first.bounding_box()
    assert track["width"] > 200 and track["x"] + track["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing sticks out sideways
    assert_accessible(page, what="the pickup schedule on a phone")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "pickup-schedule-phone.png", full_page=True)

    page.get_by_role("navigation", name="Day").get_by_role("link", name="Tomorrow").click()
    expect(section.locator(".day-line:not(.day-axis)")).to_have_count(1)
    expect(section).to_contain_text("12:00 PM – 2:00 PM MST")
    expect(section).to_contain_text("6 in 3 orders")
    assert_accessible(page, what="tomorrow's pickups on a phone")
    assert policy_violations == []


def test_the_handoff_page_still_refreshes_itself_while_a_driver_is_on_site(logged_in, live_server, merchant, chandler):
    """The Handoff page's live section uses the same script (live.js): every 5 s while a driver is on site."""
    page = logged_in
    store = StoreFactory(merchant=merchant, site=chandler, name="Desert Bloom Chandler", hours=ALL_DAY)
    window = WindowFactory(site=chandler, starts_at=timezone.now() + timedelta(minutes=10))
    orders = make_orders(store, 2, service_level="two_day")
    orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
    orders_assign(order_ids=[order.pk for order in orders], now=timezone.now() - timedelta(hours=1))
    driver = DriverFactory(user__first_name="Luis")
    (offer,) = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)
    actor = Actor.of_user(driver.user)
    visits.window_arrive(window_id=window.pk, driver_id=driver.pk, actor=actor, now=timezone.now())
    page.goto(f"{live_server.url}/stores/{store.pk}/handoff/")
    expect(page.locator(".handoff-window .count")).to_contain_text("0 of 2 parcels collected")
    page.evaluate("window.notReloaded = true")

    visits.window_collect(
        window_id=window.pk,
        driver_id=driver.pk,
        store_id=store.pk,
        store_code=store_code(store).code,
        label_codes=[package.label_code for package in orders[0].packages.all()],
        actor=actor,
        now=timezone.now(),
    )

    expect(page.locator(".handoff-window .count")).to_contain_text("1 of 2 parcels collected", timeout=15000)
    assert page.evaluate("window.notReloaded") is True
