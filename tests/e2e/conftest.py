import os

import pytest

# Playwright drives the browser from an event loop in this thread; Django's ORM calls made by the
# test itself (setting up data) are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _needs_chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's Chromium: apt-get install chromium (.ci/run installs it)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (Playwright's own download is not available here), headless and quiet."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def logged_in(page, live_server, owner, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(owner.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")
    return page
