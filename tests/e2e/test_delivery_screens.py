"""The driver's delivery screens on a phone (375 x 812) in a real browser: the run with its stops, a delivery
left at the door with a photo, a failed one taken back over the store's counter, and what each customer
then reads on the public tracking page."""

import re
from datetime import time, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from common.actors import SYSTEM, Actor
from deliveries.services import offer_accept, window_offer_wave
from merchants.handoff_codes import store_code
from pickups import visits
from pickups.ledger import orders_transition
from pickups.models import Order, OrderEvent
from pickups.windows import orders_assign
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import too_small
from tests.factories import PASSWORD, DriverFactory, SiteFactory, StoreFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 812}
# The store is open all day, so the orders fit the window at whatever hour the test runs.
ALL_DAY = {day: (time(0), time(23, 59, 59)) for day in range(7)}
MILE = Decimal("0.014493")  # of latitude
TAP_TARGETS = "article.run-stop button, article.run-stop select, article.run-stop input:not([type=hidden]), "
TAP_TARGETS += "article.run-stop summary, article.run-stop a.button"
SCREENSHOTS = settings.BASE_DIR / "var" / "e2e"


@pytest.fixture
def run(db):
    """A driver back on the road with two parcels of one store, collected at its counter: Maya's a mile
    north of the mall, Theo's two miles north."""
    site = SiteFactory(name="Chandler Fashion Center")
    store = StoreFactory(site=site, name="Desert Bloom Chandler", unit="1120", hours=ALL_DAY)
    window = WindowFactory(site=site, starts_at=timezone.now() + timedelta(minutes=10))
    customers = [
        ("Maya Okafor", "480-555-0142", "1450 N Alma School Rd", 1),
        ("Theo Lindqvist", "480-555-0187", "2200 N Dobson Rd", 2),
    ]
    orders = [
        make_orders(
            store,
            customer_name=name,
            customer_phone=phone,
            address_line1=street,
            latitude=site.latitude + miles * MILE,
            service_level="two_day",
        )[0]
        for name, phone, street, miles in customers
    ]
    orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
    # As if assigned an hour ago: a window must start PICKUP_LEAD_MINUTES after the assignment.
    orders_assign(order_ids=[order.pk for order in orders], now=timezone.now() - timedelta(hours=1))

    driver = DriverFactory(user__first_name="Luis")
    (offer,) = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)
    actor = Actor.of_user(driver.user)
    visits.window_arrive(window_id=window.pk, driver_id=driver.pk, actor=actor, now=timezone.now())
    visits.window_collect(
        window_id=window.pk,
        driver_id=driver.pk,
        store_id=store.pk,
        store_code=store_code(store).code,
        label_codes=[package.label_code for order in orders for package in order.packages.all()],
        actor=actor,
        now=timezone.now(),
    )
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PICKED_UP}
    near, far = (Order.objects.get(pk=order.pk) for order in orders)
    return {"driver": driver, "store": store, "near": near, "far": far}


def a_photo(folder):
    """A small JPEG, as a phone's camera would hand it to the file input."""
    data = BytesIO()
    Image.new("RGB", (64, 48), (180, 120, 60)).save(data, "JPEG")
    path = folder / "front-door.jpg"
    path.write_bytes(data.getvalue())
    return path


def handoff(stop, title):
    """The stop's "Delivered" or "Couldn't deliver" fold."""
    return stop.locator("details.handoff").filter(has=stop.page.locator("summary", has_text=re.compile(f"^{title}$")))


def test_a_driver_delivers_one_parcel_returns_the_other_and_the_customers_see_it(
    page, browser, live_server, run, tmp_path
):
    driver, store, near, far = run["driver"], run["store"], run["near"], run["far"]
    (far_label,) = far.packages.values_list("label_code", flat=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(PHONE)
    # The phone shares where it is (locate.js sends it with each handoff): at Maya's door.
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": float(near.latitude), "longitude": float(near.longitude)})

    # the driver logs in and opens the run
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(driver.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}/driver/run/")

    # 1. both stops, nearest first, each with an ETA, directions and a call button
    stops = page.locator("article.run-stop")
    expect(stops).to_have_count(2)
    expect(page.locator("p.big")).to_contain_text("2 stops")
    for index, order in enumerate([near, far]):
        stop = stops.nth(index)
        expect(stop).to_have_id(f"stop-{order.pk}")
        expect(stop.locator("h2")).to_have_text(f"{index + 1}. {order.customer_first_name}")
        expect(stop.locator(".eta")).to_have_text(re.compile(r"^ETA \d{1,2}:\d{2} [AP]M$"))
        directions = stop.get_by_role("link", name="Directions")
        expect(directions).to_have_attribute("href", re.compile(r"^https://www\.google\.com/maps/dir/\?api=1&"))
        expect(directions).to_have_attribute("href", re.compile(f"destination={order.latitude},{order.longitude}$"))
        expect(stop.get_by_role("link", name="Call")).to_have_attribute("href", f"tel:{order.customer_phone}")

    # every fold open: each button, select, input and summary is thumb-sized, nothing wider than the screen
    for summary in page.locator("article.run-stop summary").all():
        summary.click()
    small, measured = too_small(page, TAP_TARGETS)
    assert measured >= 2 * 11, measured  # per stop: 2 links, 2 summaries, 2 selects, 3 inputs, 2 buttons
    assert small == {}
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page, what="the run, every fold open")
    for summary in page.locator("article.run-stop summary").all():
        summary.click()
    page.screenshot(path=SCREENSHOTS / "run-page.png", full_page=True)

    # 2. Maya's parcel, left at her front door with a photo
    first = stops.first
    handoff(first, "Delivered").locator("summary").click()
    first.locator(f"#left-{near.pk}").select_option(label="Left at the front door")
    first.locator(f"#photo-{near.pk}").set_input_files(a_photo(tmp_path))
    first.get_by_role("button", name="Delivered").click()
    expect(page.locator(".messages")).to_contain_text(f"Delivered to {near.customer_first_name}.")
    expect(stops).to_have_count(1)
    delivered = OrderEvent.objects.get(order=near, type="order.delivered")
    assert Order.objects.get(pk=near.pk).status == Order.Status.DELIVERED
    assert delivered.details["left_at"] == "front_door"
    assert delivered.details["photo"] and default_storage.exists(delivered.details["photo"])
    assert (delivered.latitude, delivered.longitude) == (near.latitude, near.longitude)

    # 3. nobody home at Theo's: the page says to take it back to the store
    second = stops.first
    expect(second).to_have_id(f"stop-{far.pk}")
    handoff(second, "Couldn't deliver").locator("summary").click()
    second.locator(f"#reason-{far.pk}").select_option(label="Nobody was home")
    second.get_by_role("button", name="Couldn't deliver").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Take {far.customer_first_name}'s parcel back to {store.name} today."
    )
    expect(page.locator(".warn-card")).to_contain_text("1 failed delivery to take back")
    expect(stops).to_have_count(0)
    assert Order.objects.get(pk=far.pk).status == Order.Status.DELIVERY_FAILED

    # the customers' tracking pages, on their own phones (not logged in)
    customer = browser.new_context(viewport=PHONE)
    tracking = customer.new_page()
    tracking.goto(f"{live_server.url}/track/{far.tracking_code}/")
    expect(tracking.locator("h1")).to_have_text("We couldn't deliver your parcel.")
    expect(tracking.locator(".tracking")).to_contain_text(f"Nobody was home. It is going back to {store.name} today.")
    expect(tracking.locator("[aria-current=step]")).to_contain_text("Delivery attempt failed")
    assert_accessible(tracking, what="the tracking page of a failed delivery")

    # the driver at the store's counter: its code, then the label as a keyboard-wedge scanner types it
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Returns").click()
    page.wait_for_url(f"{live_server.url}/driver/returns/")
    page.evaluate("window.returnsPageMarker = 'not reloaded'")
    back = page.locator(f'section.stop[data-store="{store.pk}"]')
    expect(back.locator(".count")).to_have_text(re.compile(r"^\s*0 of 1 back\s*$"))
    page.locator(f"#code-{store.pk}").fill(store_code(store).code)
    page.locator(f"#label-{store.pk}").click()
    page.keyboard.type(far_label)
    page.keyboard.press("Enter")
    answer = back.locator(".scan-results li").first
    expect(answer).to_have_text(f"{far_label}: Returned.")
    expect(answer).to_have_class("ok")
    expect(answer).to_have_css("color", "rgb(7, 82, 57)")  # --brand-dark, on the light green of --ok-bg
    expect(back.locator(".count")).to_have_text(re.compile(r"^\s*1 of 1 back\s*$"))
    expect(back.locator(f'.parcel[data-label="{far_label}"] .state')).to_have_text("Returned")
    assert page.evaluate("window.returnsPageMarker") == "not reloaded"
    assert_accessible(page, what="the returns page, after a scan")
    assert Order.objects.get(pk=far.pk).status == Order.Status.RETURNED
    small, measured = too_small(page, "form.scan button, form.scan input:not([type=hidden])")
    assert measured >= 3 and small == {}
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=SCREENSHOTS / "returns-page.png", full_page=True)

    # 4. Maya reads that her parcel was delivered, and how; nothing personal beyond her first name
    tracking.goto(f"{live_server.url}/track/{near.tracking_code}/")
    expect(tracking.locator("h1")).to_have_text("Your parcel was delivered.")
    expect(tracking.locator(".tracking")).to_contain_text("Left at the front door")
    expect(tracking.locator(".stepper li")).to_have_count(5)
    expect(tracking.locator(".stepper li.done")).to_have_count(5)
    text = tracking.locator("body").inner_text()
    assert near.customer_first_name in text
    for private in ("Okafor", near.customer_phone, "0142", near.address_line1, "Alma School"):
        assert private not in text, private
    assert tracking.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tracking.screenshot(path=SCREENSHOTS / "tracking-page.png", full_page=True)

    # and Theo reads that his parcel is back at the store
    tracking.goto(f"{live_server.url}/track/{far.tracking_code}/")
    expect(tracking.locator("h1")).to_have_text("Your parcel is back at the store.")
    expect(tracking.locator(".tracking")).to_contain_text(f"{store.name} will arrange a new delivery")
    customer.close()
