"""axe-core over every page of the portal, the driver's pages and the public pages, in Debian's Chromium at a
desktop (1280 x 800) and a phone (375 x 812) size: no serious or critical violation anywhere, with the folds open,
a flash message showing and forms showing their errors.

Each size is one test that visits every page and reports all the pages that fail at once (the world it needs
takes a few seconds to build: one world per size, not per page). A summary of what axe found per page is written
to var/e2e/axe-<size>.json for a person to read.
"""

import json
from datetime import time, timedelta

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from common.actors import SYSTEM, Actor
from deliveries.handoffs import order_deliver, order_fail
from deliveries.services import offer_accept, window_offer_wave
from merchants.handoff_codes import store_code
from merchants.models import Closure, Membership
from merchants.services import api_key_create, invitation_create
from pickups import visits
from pickups.ledger import orders_transition
from pickups.models import Order, OrderImport
from pickups.windows import orders_assign
from tests.e2e.accessibility import report, violations
from tests.factories import (
    PASSWORD,
    DriverFactory,
    MembershipFactory,
    SiteFactory,
    StoreFactory,
    WindowFactory,
    make_orders,
)
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
# Open all day, so the orders fit a window whatever hour the test runs.
ALL_DAY = {day: (time(0), time(23, 59, 59)) for day in range(7)}
SUMMARIES = settings.BASE_DIR / "var" / "e2e"
# Tap targets: buttons and checkboxes at least 24 px everywhere (WCAG 2.2 target size); on a driver's pages, used
# on a phone in one hand, every control and the bar's links at least 44 px.
TARGETS = "button, .button, input[type=checkbox], input[type=radio]"
DRIVER_TARGETS = f"{TARGETS}, input:not([type=hidden]), select, summary, .nav a"
SMALL = """([selector, minimum]) => [...document.querySelectorAll(selector)]
  .filter((element) => element.getClientRects().length && getComputedStyle(element).visibility !== "hidden")
  .map((element) => [element.outerHTML.slice(0, 100), element.getBoundingClientRect()])
  .filter(([, box]) => Math.min(box.width, box.height) < minimum - 0.5)
  .map(([html, box]) => `${Math.round(box.width)}x${Math.round(box.height)} ${html}`)"""


@pytest.fixture
def world(owner, settings):
    """One merchant with a mall store (hours, a closure, orders in every state that has a page), its keys,
    a webhook, a team, two imports; a driver still at the counter (one parcel left to scan) with a delivered,
    a failed and a pending parcel in the car, and an offer for a later pickup."""
    merchant = owner.membership.merchant
    site = SiteFactory(name="Chandler Fashion Center")
    store = StoreFactory(merchant=merchant, site=site, name="Desert Bloom Chandler", unit="1120", hours=ALL_DAY)
    # a month ahead: never the day of the pickup below, whenever this runs
    Closure.objects.create(store=store, date=timezone.localdate() + timedelta(days=30), reason="Stocktaking")
    MembershipFactory(merchant=merchant, role=Membership.Role.STAFF, user__first_name="Kai")
    invitation_create(merchant=merchant, email="new.hire@shop.example", invited_by=owner)
    api_key_create(merchant=merchant, name="Website checkout", created_by=owner)
    api_key_create(
        merchant=merchant, name="Widget", created_by=owner, kind="publishable", allowed_origins=["https://shop.example"]
    )
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # no DNS here: the shop's host is not looked up
    endpoint = endpoint_create(merchant=merchant, url="https://shop.example/hooks", events=[], description="Shop")
    failed_import = OrderImport.objects.create(
        merchant=merchant,
        created_by=owner,
        filename="orders.csv",
        content="",
        status=OrderImport.Status.FAILED,
        total_rows=2,
        checked_rows=2,
        errors=[{"row": 3, "column": "weights_lb", "message": "Give at least one package weight."}],
    )
    done_import = OrderImport.objects.create(
        merchant=merchant,
        created_by=owner,
        filename="more.csv",
        content="",
        status=OrderImport.Status.SUCCEEDED,
        total_rows=1,
        checked_rows=1,
        created_count=1,
    )

    # the driver's run: three parcels collected at the counter, one still to scan (the visit goes on);
    # of the three, one delivered, one failed, one to go
    soon = timezone.now() + timedelta(minutes=10)
    window = WindowFactory(site=site, starts_at=soon, ends_at=soon + timedelta(minutes=30))
    *in_run, to_scan = make_orders(store, count=4, service_level="two_day")
    orders_transition(orders=[*in_run, to_scan], to=Order.Status.READY, actor=SYSTEM)
    orders_assign(order_ids=[order.pk for order in [*in_run, to_scan]], now=timezone.now() - timedelta(hours=1))
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
        label_codes=[package.label_code for order in in_run for package in order.packages.all()],
        actor=actor,
        now=timezone.now(),
    )
    delivered, failed, pending = (Order.objects.get(pk=order.pk) for order in in_run)
    order_deliver(order=delivered, driver=driver, left_at="handed_to_customer", recipient_name="Maya")
    order_fail(order=failed, driver=driver, reason="not_home")

    # a later window with a ready order, offered to the driver
    later = WindowFactory(site=site, starts_at=soon + timedelta(hours=2), ends_at=soon + timedelta(hours=3))
    (ready,) = make_orders(store, service_level="two_day", packages=2)
    orders_transition(orders=[ready], to=Order.Status.READY, actor=SYSTEM)
    orders_assign(order_ids=[ready.pk], now=timezone.now() - timedelta(hours=1))
    assert window_offer_wave(window_id=later.pk, now=timezone.now())

    (created,) = make_orders(store, packages=3)
    return {
        "owner": owner,
        "store": store,
        "endpoint": endpoint,
        "imports": [failed_import, done_import],
        "driver": driver,
        "window": window,
        "orders": {"created": created, "ready": ready, "delivered": delivered, "failed": failed, "pending": pending},
    }


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def open_folds(page):
    """Every <details> open, so what a tap would show is checked too (the phone's menu included)."""
    page.evaluate("document.querySelectorAll('details').forEach((fold) => { fold.open = true; })")


class Audit:
    """Visits pages, runs axe-core on each and remembers what it found."""

    def __init__(self, size):
        self.size = size
        self.found = {}  # page name -> serious/critical violations
        self.small = {}  # page name -> tap targets under the minimum size
        self.counts = {}  # page name -> {"rule (impact)": number of elements}, every impact

    def check(self, page, name, *, fold=True, driver=False):
        page.wait_for_load_state()  # a submitted form's page fully styled: tap targets are measured as shown
        expect(page.locator("main, body").first).to_be_visible()
        if fold:
            open_folds(page)
        small = page.evaluate(SMALL, [DRIVER_TARGETS, 44] if driver else [TARGETS, 24])
        if small:
            self.small[name] = small
        every = violations(page, impacts=("critical", "serious", "moderate", "minor"))
        self.counts[name] = {
            f"{violation['id']} ({violation['impact']})": len(violation["nodes"]) for violation in every
        }
        self.found[name] = [violation for violation in every if violation["impact"] in ("critical", "serious")]

    def visit(self, page, url, name, status=200, **kwargs):
        response = page.goto(url)
        assert response.status == status, f"{name}: {url} answered {response.status}"
        self.check(page, name, **kwargs)

    def failures(self) -> str:
        lines = [report(found, f"{name} @ {self.size}: ") for name, found in self.found.items() if found]
        lines += [f"{name} @ {self.size}: too small to tap: {', '.join(small)}" for name, small in self.small.items()]
        return "\n".join(lines)

    def save(self):
        SUMMARIES.mkdir(parents=True, exist_ok=True)
        (SUMMARIES / f"axe-{self.size}.json").write_text(json.dumps(self.counts, indent=1, sort_keys=True))


@pytest.mark.parametrize("size", SIZES)
def test_every_page_has_no_serious_or_critical_accessibility_violation(browser, live_server, world, size):
    url = live_server.url
    audit = Audit(size)
    orders, store = world["orders"], world["store"]

    # the public pages, not logged in
    visitor = browser.new_context(viewport=SIZES[size])
    page = visitor.new_page()
    audit.visit(page, f"{url}/accounts/login/", "login")
    page.get_by_label("Email").fill("nobody@shop.example")
    page.get_by_role("button", name="Log in").click()  # a wrong login: the form says so
    audit.check(page, "login refused")
    audit.visit(page, f"{url}/signup/", "signup")
    page.get_by_role("button", name="Create my account").click()  # empty: every field says what is missing
    audit.check(page, "signup with errors")
    audit.visit(page, f"{url}/accounts/password_reset/", "password reset")
    audit.visit(page, f"{url}/accounts/password_reset/done/", "password reset sent")
    owner = world["owner"]
    uid, token = urlsafe_base64_encode(force_bytes(owner.pk)), default_token_generator.make_token(owner)
    audit.visit(page, f"{url}/accounts/reset/{uid}/{token}/", "password reset: new password")
    audit.visit(page, f"{url}/track/{orders['pending'].tracking_code}/", "tracking: on its way")
    audit.visit(page, f"{url}/track/{orders['failed'].tracking_code}/", "tracking: failed")
    audit.visit(page, f"{url}/track/{orders['delivered'].tracking_code}/", "tracking: delivered")
    audit.visit(page, f"{url}/track/{orders['delivered'].tracking_code}/stop/", "tracking: stop messages")
    audit.visit(page, f"{url}/track/NOSUCHCODE12/", "tracking: unknown code", status=404)
    audit.visit(page, f"{url}/no-such-page/", "404", status=404)
    visitor.close()

    # the merchant's portal
    merchant = browser.new_context(viewport=SIZES[size])
    page = merchant.new_page()
    log_in(page, live_server, owner.email)
    audit.check(page, "dashboard")
    audit.visit(page, f"{url}/orders/", "orders")
    audit.visit(page, f"{url}/orders/new/", "new order")
    page.get_by_role("button", name="Add a package").click()
    page.get_by_role("button", name="Create order").click()  # empty: every field says what is missing
    audit.check(page, "new order with errors")
    audit.visit(page, f"{url}/orders/import/", "import")
    for job in world["imports"]:
        audit.visit(page, f"{url}/orders/import/{job.pk}/", f"import {job.status}")
    for state, order in orders.items():
        audit.visit(page, f"{url}/orders/{order.pk}/", f"order {state}")
    page.goto(f"{url}/orders/{orders['created'].pk}/")
    page.get_by_role("button", name="Flag ready for pickup").click()  # a flash message on the next page
    expect(page.locator(".messages")).to_be_visible()
    audit.check(page, "order with a message")
    audit.visit(page, f"{url}/stores/", "stores")
    audit.visit(page, f"{url}/stores/new/", "new store")
    page.get_by_role("button", name="Save store").click()  # empty: every field says what is missing
    audit.check(page, "new store with errors")
    audit.visit(page, f"{url}/stores/{store.pk}/edit/", "store")
    audit.visit(page, f"{url}/stores/{store.pk}/handoff/", "handoff")
    audit.visit(page, f"{url}/pickups/", "pickup schedule")
    audit.visit(page, f"{url}/team/", "team")
    page.get_by_role("button", name="Send invitation").click()  # empty
    audit.check(page, "team: invitation with an error")
    audit.visit(page, f"{url}/api-keys/", "API keys")
    audit.visit(page, f"{url}/webhooks/", "webhooks")
    audit.visit(page, f"{url}/webhooks/{world['endpoint'].pk}/", "webhook")
    merchant.close()

    # the driver's pages
    driver = browser.new_context(viewport=SIZES[size])
    page = driver.new_page()
    log_in(page, live_server, world["driver"].user.username)
    audit.check(page, "driver: home", driver=True)
    audit.visit(page, f"{url}/driver/windows/{world['window'].pk}/", "driver: pickup", driver=True)
    audit.visit(page, f"{url}/driver/run/", "driver: run", driver=True)
    audit.visit(page, f"{url}/driver/returns/", "driver: returns", driver=True)
    driver.close()

    audit.save()
    assert audit.failures() == "", "\n" + audit.failures()
