"""The Content-Security-Policy in a real browser (Debian's Chromium): the portal's pages, a driver's pages,
the admin and the API docs load, run their scripts and report no violation."""

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Runs before any page script and outside the page's policy: every violation becomes a console message.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`securitypolicyviolation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def violations(page):
    """What the browser reported against the policy: its own console errors and the page's violation events."""
    reported = []

    def record(message):
        if "Content Security Policy" in message.text or "securitypolicyviolation" in message.text:
            reported.append(f"{page.url}: {message.text}")

    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", record)
    return reported


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_the_login_and_a_drivers_pages_keep_to_the_policy(page, live_server, driver, violations):
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    log_in(page, live_server, driver.user.username)
    assert page.url == f"{live_server.url}/driver/"
    page.goto(f"{live_server.url}/driver/run/")
    page.wait_for_load_state("networkidle")

    assert violations == []


def test_a_merchants_inline_script_runs(logged_in, live_server, violations):
    page = logged_in
    page.goto(f"{live_server.url}/orders/new/")

    page.get_by_role("button", name="Add a package").click()  # the form's inline script, allowed by its hash

    expect(page.locator("#id_packages-1-weight_lb")).to_be_visible()
    assert violations == []


def test_the_admin_keeps_to_the_policy(page, live_server, violations):
    UserFactory(username="ops", email="ops@program.example", is_staff=True, is_superuser=True)

    log_in(page, live_server, "ops")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.goto(f"{live_server.url}/admin/axes/accessattempt/")
    page.wait_for_load_state("networkidle")

    assert violations == []


def test_the_api_docs_render_under_the_policy(page, live_server, violations):
    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Mall Pickup merchant API")
    expect(page.locator(".opblock").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert violations == []
