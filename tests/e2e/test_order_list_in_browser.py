"""The order list in a real browser (Debian's Chromium) at a desktop (1280 x 800) and a phone (375 x 812) size:
status tabs, the filters folded on a phone, "select all N matching" with its confirmation, "Preparing N labels…",
and a worker's progress followed until the labels can be downloaded."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from common.actors import SYSTEM
from pickups.bulk_actions import bulk_action_run, bulk_plan
from pickups.ledger import orders_transition
from pickups.models import BulkAction, Order
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import too_small
from tests.factories import StoreFactory, make_orders

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
SCREENSHOTS = settings.BASE_DIR / "var" / "e2e"


@pytest.fixture(params=SIZES)
def sized(request, logged_in):
    logged_in.set_viewport_size(SIZES[request.param])
    return logged_in


def on_a_phone(page) -> bool:
    return page.viewport_size["width"] < 640


def fits_the_screen(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def screenshot(page, name):
    """For a person to look at: var/e2e/<name>-<width>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{page.viewport_size['width']}.png", full_page=True)


def test_tabs_select_all_matching_and_confirm(sized, live_server, merchant):
    # given: 30 new orders (more than a page of 25) and 2 ready ones
    page = sized
    store = StoreFactory(merchant=merchant, name="Desert Bloom")
    new = make_orders(store, 30)
    orders_transition(orders=make_orders(store, 2), to=Order.Status.READY, actor=SYSTEM)

    page.goto(f"{live_server.url}/orders/")
    tabs = page.get_by_role("navigation", name="Orders by status")
    expect(tabs.get_by_role("link", name="All 32 orders")).to_have_attribute("aria-current", "page")
    search = page.get_by_label("Search")
    summary = page.locator("details.filters > summary")
    if on_a_phone(page):  # folded: one tap opens it
        expect(search).to_be_hidden()
        assert summary.bounding_box()["height"] >= 44
        summary.click()
        expect(search).to_be_visible()
    else:
        expect(summary).to_be_hidden()
        expect(search).to_be_visible()
    fits_the_screen(page)
    assert_accessible(page, what="the order list")

    # the tab of the new orders: a link, marked as the current page
    tabs.get_by_role("link", name="To flag ready").click()
    page.wait_for_url("**/orders/?status=created")
    current = tabs.locator("[aria-current=page]")
    expect(current).to_have_text("To flag ready 30 orders")
    select_all = page.get_by_label("Select all 30 orders matching these filters")
    expect(select_all).to_be_hidden()

    # every order of the page ticked: "all 30 matching" is offered, and taken
    page.get_by_label("All on this page").check()
    expect(page.locator("input[name=orders]:checked")).to_have_count(25)
    expect(select_all).to_be_visible()
    assert too_small(page, "main input[type=checkbox], main button", minimum=24)[0] == {}
    screenshot(page, "orders-select-all")
    select_all.check()
    expect(page.get_by_text("With all the orders matching these filters:")).to_be_visible()
    assert_accessible(page, what="all matching selected")
    page.get_by_role("button", name="Flag ready for pickup").click()

    # a confirmation that says what will happen, to how many
    expect(page.get_by_role("heading", level=1)).to_have_text("Flag the 30 matching orders ready for pickup?")
    expect(page.get_by_text("30 orders will be flagged ready for pickup")).to_be_visible()
    fits_the_screen(page)
    assert_accessible(page, what="the confirmation")
    assert set(Order.objects.filter(pk__in=[o.pk for o in new]).values_list("status", flat=True)) == {"created"}
    page.get_by_role("button", name="Flag 30 orders ready").click()

    expect(page.locator(".messages")).to_contain_text("30 order(s) flagged ready for pickup.")
    expect(tabs.locator("[aria-current=page]")).to_have_text("To flag ready 0 orders")
    assert set(Order.objects.filter(pk__in=[o.pk for o in new]).values_list("status", flat=True)) <= {
        "ready",
        "scheduled",
    }


def test_labels_say_they_are_being_prepared_and_a_worker_shows_its_progress(sized, live_server, merchant, owner):
    page = sized
    store = StoreFactory(merchant=merchant, name="Desert Bloom")
    make_orders(store, 3, packages=2)

    # small: drawn in the request, the button saying so while it waits
    page.goto(f"{live_server.url}/orders/")
    # a 204 keeps the browser on the page; the answer is awaited so no navigation is left in flight
    page.route("**/orders/bulk/", lambda route: route.fulfill(status=204))
    page.get_by_label("All on this page").check()
    # clicked and read in the same tick of the page, before any answer can arrive
    with page.expect_response("**/orders/bulk/"):
        state = page.evaluate(
            """() => {
                const button = document.querySelector("button[value=labels]");
                button.click();
                return [button.textContent, button.getAttribute("aria-busy")];
            }"""
        )
    assert state == ["Preparing 6 labels…", "true"]
    page.unroute_all()

    # large: a worker's job, followed until its file can be downloaded
    # (written as bulk_action_start does, but not queued: the test plays the worker when it likes)
    plan = bulk_plan(orders=Order.objects.filter(merchant=merchant), kind="labels")
    action = BulkAction.objects.create(
        merchant=merchant, created_by=owner, kind="labels", order_ids=plan.order_ids, total=plan.total
    )
    page.goto(f"{live_server.url}/orders/bulk/{action.pk}/")
    expect(page.locator("[data-progress-status]")).to_have_text("Waiting for a worker")
    expect(page.get_by_text("Reload the page")).to_be_hidden()  # the script follows it
    assert_accessible(page, what="a bulk action waiting")
    bulk_action_run(action_id=action.pk)  # the worker

    download_link = page.get_by_role("link", name="Download 6 labels (PDF)")
    expect(download_link).to_be_visible(timeout=10000)
    fits_the_screen(page)
    assert_accessible(page, what="a bulk action done")
    with page.expect_download() as download:
        download_link.click()
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"
