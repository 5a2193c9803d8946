"""The order and store forms in a real browser (Debian's Chromium), at a desktop (1280 x 800) and a phone (375 x 812)
size: package rows that are never dropped in silence, the opening-hours presets, the own address that hides for a
mall, the error summary; and the main navigation that folds into a menu on a phone."""

from datetime import time

import pytest
from django.conf import settings
from playwright.sync_api import expect

from merchants.models import Store
from pickups.models import Order
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import too_small
from tests.factories import SiteFactory, StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
FORM_TARGETS = "main button:visible, main input[type=checkbox], main input[type=radio], main .button"
SCREENSHOTS = settings.BASE_DIR / "var" / "e2e"


@pytest.fixture(params=SIZES)
def sized(request, logged_in):
    logged_in.set_viewport_size(SIZES[request.param])
    return logged_in


def fits_the_screen(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def screenshot(page, name):
    """For a person to look at: var/e2e/<name>-<width>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{page.viewport_size['width']}.png", full_page=True)


def test_package_rows_are_numbered_removed_and_an_empty_one_is_refused(sized, live_server, merchant):
    page = sized
    store = StoreFactory(merchant=merchant, name="Desert Bloom")
    page.goto(f"{live_server.url}/orders/new/")

    # the sole store is chosen already; required fields say so
    expect(page.get_by_label("Store")).to_have_value(str(store.pk))
    expect(page.locator("label[for=id_customer_name]")).to_have_class("required")
    expect(page.locator("label[for=id_customer_email]")).not_to_have_class("required")
    expect(page.get_by_role("button", name="Remove package 1")).to_be_hidden()  # one package: nothing to remove

    page.get_by_label("Your order number").fill("POS-88")
    page.get_by_label("Customer name").fill("Jamie Rivera")
    page.get_by_label("Customer phone").fill("480-555-0199")
    page.get_by_label("Address:", exact=True).fill("100 N Arizona Ave")
    page.get_by_label("City").fill("Chandler")
    page.get_by_label("State").fill("AZ")
    page.get_by_label("ZIP code").fill("85225")
    page.get_by_label("Package 1 weight (lb)").fill("3")
    page.get_by_role("button", name="Add a package").click()
    expect(page.get_by_label("Package 2 weight (lb)")).to_be_focused()
    page.get_by_role("button", name="Add a package").click()
    page.get_by_label("Package 3 weight (lb)").fill("1.5")
    fits_the_screen(page)

    # package 2 left empty: refused with the reason, listed at the top and next to the field, nothing created
    page.get_by_role("button", name="Create order").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Package 2 weight (lb): Give this package's weight, or remove it.")
    expect(page.get_by_label("Package 2 weight (lb)")).to_have_attribute("aria-invalid", "true")
    assert not Order.objects.exists()
    assert_accessible(page, what="order form with an empty package")
    screenshot(page, "order-form-errors")
    summary.get_by_role("link", name="Package 2 weight (lb)").click()
    expect(page.get_by_label("Package 2 weight (lb)")).to_be_focused()

    # removed visibly: the rows after it move up and are numbered again
    page.get_by_role("button", name="Remove package 2").click()
    expect(page.locator("#package-rows tr")).to_have_count(2)
    expect(page.get_by_label("Package 2 weight (lb)")).to_have_value("1.5")
    expect(page.locator("#id_packages-TOTAL_FORMS")).to_have_value("2")
    assert too_small(page, FORM_TARGETS, minimum=24)[0] == {}
    page.get_by_role("button", name="Create order").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Order POS-88")
    order = Order.objects.get()
    assert [float(p.weight_lb) for p in order.packages.order_by("sequence")] == [3, 1.5]


def test_store_hours_presets_the_mall_address_and_the_error_summary(sized, live_server, merchant):
    page = sized
    SiteFactory(name="Chandler Fashion Center")
    page.goto(f"{live_server.url}/stores/new/")
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    # a mall has its own address: the store's fields hide while one is chosen
    address = page.get_by_role("group", name="Own address (only if not in a mall)")
    expect(address).to_be_visible()
    page.get_by_label("Mall").select_option(label="Chandler Fashion Center")
    expect(address).to_be_hidden()
    page.get_by_label("Mall").select_option(index=0)
    expect(address).to_be_visible()
    page.get_by_label("Mall").select_option(label="Chandler Fashion Center")

    # Monday's hours to the weekdays, then to every day
    page.get_by_label("Monday opens").fill("09:00")
    page.get_by_label("Monday closes").fill("18:00")
    page.get_by_role("button", name="Copy Monday to weekdays").click()
    for day in days[1:5]:
        expect(page.locator(f"#id_{day}_opens")).to_have_value("09:00")
        expect(page.locator(f"#id_{day}_closes")).to_have_value("18:00")
    for day in days[5:]:
        expect(page.locator(f"#id_{day}_opens")).to_have_value("")
    expect(page.get_by_role("status").filter(has_text="copied")).to_have_text(
        "Monday's hours (09:00 to 18:00) copied to Tuesday to Friday."
    )
    page.get_by_role("button", name="Same hours every day").click()
    for day in days:
        expect(page.locator(f"#id_{day}_closes")).to_have_value("18:00")
    fits_the_screen(page)  # the hours table stacks on a phone instead of being cut off
    if page.viewport_size["width"] < 640:
        monday = page.get_by_label("Monday opens").bounding_box()
        assert page.get_by_label("Monday closes").bounding_box()["y"] == monday["y"]  # side by side
        assert page.locator("table.hours th", has_text="Tuesday").bounding_box()["y"] > monday["y"]  # below
    assert too_small(page, FORM_TARGETS, minimum=24)[0] == {}

    # no name: the summary at the top says so and links to the field
    page.get_by_role("button", name="Save store").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(["Name: This field is required."])
    assert_accessible(page, what="store form with an error")
    screenshot(page, "store-form-errors")
    summary.get_by_role("link", name="Name: This field is required.").click()
    expect(page.get_by_label("Name")).to_be_focused()
    expect(page.get_by_label("Sunday opens")).to_have_value("09:00")  # what was typed is kept

    page.get_by_label("Name").fill("Desert Bloom Chandler")
    page.get_by_role("button", name="Save store").click()
    expect(page.locator(".messages")).to_contain_text("Saved Desert Bloom Chandler.")
    store = Store.objects.get()
    assert sorted(store.opening_hours.values_list("weekday", "opens", "closes")) == [
        (day, time(9), time(18)) for day in range(7)
    ]


def test_the_main_navigation_folds_into_a_menu_on_a_phone(sized, live_server):
    page = sized
    page.goto(f"{live_server.url}/orders/")
    navigation = page.get_by_role("navigation", name="Main")
    stores = navigation.get_by_role("link", name="Stores")
    menu = page.locator("summary", has_text="Menu")

    if page.viewport_size["width"] >= 640:
        expect(menu).to_be_hidden()
        expect(stores).to_be_visible()
    else:
        expect(stores).to_be_hidden()
        assert menu.bounding_box()["height"] >= 44
        menu.click()
        expect(stores).to_be_visible()
        assert too_small(page, ".nav a, .nav button", minimum=44)[0] == {}
        assert_accessible(page, what="the open menu")
        screenshot(page, "menu-open")
    stores.click()
    page.wait_for_url(f"{live_server.url}/stores/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Stores")
