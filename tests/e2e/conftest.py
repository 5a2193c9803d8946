import os
from pathlib import Path

import pytest

# Playwright drives the browser from an event loop in this thread; Django's ORM calls made by the
# test itself (setting up data) are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

HERE = Path(__file__).resolve().parent
# E2E_CHROMIUM points the tests at another browser binary (CI points it at a missing one to check the skip).
CHROMIUM = os.environ.get("E2E_CHROMIUM") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    """Without the browser, skip the browser tests at collection: a fixture-time skip comes too late,
    because pytest-playwright's session-scoped browser is launched (and errors) before it runs."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return
    reason = f"needs Debian's Chromium at {CHROMIUM}: apt-get install chromium (.ci/run installs it)"
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        # This hook is called for every collected item, not only for those under this folder.
        if item.path.resolve().is_relative_to(HERE):
            item.add_marker(skip)


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
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")
    return page


def too_small(page, selector, minimum=44):
    """The visible tap targets under `minimum` px tall (44 on a driver's pages, 24 elsewhere), by name; and how many
    were measured."""
    targets = page.locator(selector)
    heights = {}
    for index in range(targets.count()):
        target = targets.nth(index)
        if target.is_visible():
            name = target.get_attribute("id") or target.inner_text() or target.get_attribute("class")
            heights[f"{index}:{name}"] = target.bounding_box()["height"]
    return {name: height for name, height in heights.items() if height < minimum}, len(heights)
