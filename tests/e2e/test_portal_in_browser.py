"""The portal in a real browser (Debian's Chromium): what only works with JavaScript and real forms."""

import pytest
from playwright.sync_api import expect

from merchants.models import Merchant
from pickups import csv_orders
from pickups.models import Order
from tests.e2e.accessibility import assert_accessible
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_shop_signs_up_and_sees_it_is_waiting_for_approval(page, live_server):
    page.goto(f"{live_server.url}/signup/")
    assert_accessible(page)
    page.get_by_label("Business name").fill("Cactus Candles")
    page.get_by_label("Your name").fill("Ana Ruiz")
    page.get_by_label("Email").fill("ana@cactuscandles.example")
    page.get_by_label("Password:", exact=True).fill("wax-and-wick-2026")
    page.get_by_label("Password again:").fill("wax-and-wick-2026")
    page.get_by_role("button", name="Create my account").click()

    expect(page.get_by_role("alert")).to_contain_text("Your account is waiting for approval")
    assert_accessible(page, what="the dashboard of a merchant waiting for approval")
    assert Merchant.objects.get().status == "pending"


def test_an_order_with_two_packages_then_ready(logged_in, live_server, merchant):
    page = logged_in
    store = StoreFactory(merchant=merchant, name="Desert Bloom")
    page.goto(f"{live_server.url}/orders/new/")
    page.get_by_label("Store").select_option(str(store.pk))
    page.get_by_label("Your order number").fill("POS-77")
    page.get_by_label("Customer name").fill("Jamie Rivera")
    page.get_by_label("Customer phone").fill("480-555-0199")
    page.get_by_label("Address:", exact=True).fill("100 N Arizona Ave")
    page.get_by_label("City").fill("Chandler")
    page.get_by_label("State").fill("AZ")
    page.get_by_label("ZIP code").fill("85225")
    page.locator("#id_packages-0-weight_lb").fill("3")
    page.get_by_role("button", name="Add a package").click()
    page.locator("#id_packages-1-weight_lb").fill("1.5")
    page.get_by_role("button", name="Create order").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Order POS-77")
    assert_accessible(page, what="a new order, with its flash message")
    order = Order.objects.get()
    assert order.packages.count() == 2
    page.get_by_role("button", name="Flag ready for pickup").click()
    expect(page.locator("h1 .status")).to_have_text("Ready for pickup")
    expect(page.locator(".timeline")).to_contain_text("Ready for pickup")


def test_a_csv_upload_shows_progress_until_imported(logged_in, live_server, merchant, tmp_path):
    page = logged_in
    StoreFactory(merchant=merchant, name="Desert Bloom Chandler")
    upload = tmp_path / "orders.csv"
    upload.write_text(csv_orders.import_template())

    page.goto(f"{live_server.url}/orders/import/")
    page.get_by_label("File").set_input_files(upload)
    page.get_by_role("button", name="Upload and check").click()

    expect(page.locator("#import-status")).to_have_text("Imported", timeout=15000)
    expect(page.get_by_text("1 order created")).to_be_visible()
    assert_accessible(page, what="a finished import")
    assert Order.objects.get().external_id == "WEB-1001"
