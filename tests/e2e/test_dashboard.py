"""The merchant dashboard in a real browser (Debian's Chromium), at desktop and phone sizes: what needs the
merchant now, each store's figures and the chart of orders per day (an SVG image drawn on the server),
under the site's Content-Security-Policy. Screenshots go to var/e2e/ with the other browser tests'."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from demo.history import history_seed
from tests.e2e.accessibility import report, violations
from tests.e2e.test_csp import REPORT_VIOLATIONS
from tests.factories import DriverFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "var" / "e2e"
SIZES = {"desktop": (1280, 800), "phone": (375, 812)}


@pytest.fixture
def shop(merchant):
    """A demo store with four weeks of past orders (the demo's own history), and two orders to flag ready."""
    store = StoreFactory(merchant=merchant, name="Desert Bloom Chandler")
    DriverFactory.create_batch(2)
    assert history_seed() > 50
    make_orders(store, 2)
    return store


@pytest.fixture
def policy_violations(page):
    """What the browser reported against the Content-Security-Policy (as tests/e2e/test_csp.py records it)."""
    reported = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: "securitypolicyviolation" in message.text and reported.append(message.text))
    return reported


@pytest.mark.parametrize("size", SIZES)
def test_the_dashboard_shows_what_needs_doing_and_a_visible_chart(
    logged_in, live_server, shop, size, policy_violations
):
    page = logged_in
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})

    page.goto(f"{live_server.url}/dashboard/")

    needs = page.get_by_role("region", name="Needs you now")
    expect(needs).to_contain_text("2 orders to flag ready")
    expect(needs.get_by_role("link", name="Flag orders ready")).to_have_attribute("href", "/orders/?status=created")
    figures = page.get_by_role("table", name="Desert Bloom Chandler: pickups and deliveries")
    expect(figures).to_contain_text("On-time pickups")
    chart = page.get_by_role("img", name="Stacked bar chart of Desert Bloom Chandler's orders per day")
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle())
    box = chart.bounding_box()
    assert box["width"] > 0.8 * min(width - 40, 900) and box["x"] + box["width"] <= width  # fits the screen
    response = page.request.get(live_server.url + chart.get_attribute("src"))
    assert response.headers["content-type"].startswith("image/svg+xml") and response.text().startswith("<svg")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing sticks out sideways

    page.get_by_text("Orders per day as a table").click()
    expect(page.get_by_role("table", name="Desert Bloom Chandler: orders made each day, by outcome")).to_be_visible()
    found = violations(page)
    assert not found, report(found)
    assert policy_violations == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"dashboard-{size}.png", full_page=True)
