"""The whole program as its people live it, in real Chromium: a shop joins and ships, two drivers race for
the pickup, the counter handoff, the run, a return, and what the customer reads.

One journey, in the order it happens, at the sizes its people use: the shop's set-up on a desktop and on a
phone (the test runs once for each), everything after that on a phone (375 x 812). Every page visited
must pass axe-core with no serious or critical violation. The clock is Monday 4 January 2027, 10:00 in
Chandler (no daylight saving), and moves on as the day does. On the PostgreSQL + Redis pass a real Celery
worker does the scheduling; elsewhere tasks run in-process. Screenshots land in var/e2e/journey/.
"""

import re
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from pypdf import PdfReader

from deliveries.tasks import offer_windows
from merchants.models import Merchant, Store
from pickups.models import Order, PickupWindow
from tests.conftest import wait_for
from tests.e2e.accessibility import assert_accessible
from tests.factories import PASSWORD, DriverFactory, SiteFactory, UserFactory, WindowFactory

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
MONDAY_10AM_CHANDLER = datetime(2027, 1, 4, 17, 0, tzinfo=UTC)
SHOTS = settings.BASE_DIR / "var" / "e2e" / "journey"
SHOP_PASSWORD = "wax-and-wick-2026"
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@pytest.fixture
def clock():
    """Monday morning in Chandler, ticking; the test moves it on to the pickup."""
    with time_machine.travel(MONDAY_10AM_CHANDLER, tick=True) as traveller:
        yield traveller


@pytest.fixture
def program(clock, request):
    """What the program team set up before the shop joins: the mall, a pickup window late this morning,
    two drivers living a mile away, an admin; and on the Redis pass, a real worker."""
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        request.getfixturevalue("celery_worker")
    mall = SiteFactory(name="Chandler Fashion Center")
    window = WindowFactory(site=mall, starts_at=timezone.now() + timedelta(minutes=100))
    drivers = [DriverFactory(user__first_name=name, user__username=name.lower()) for name in ("Luis", "Kim")]
    admin = UserFactory(username="ops", is_staff=True, is_superuser=True)
    return {"mall": mall, "window": window, "drivers": drivers, "admin": admin}


class Journey:
    """One person's browser: a context of its own (cookies, viewport), pages checked as they are visited."""

    def __init__(self, browser, live_server, who: str, viewport: dict, shots: str):
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.base, self.who, self.shots = live_server.url, who, shots

    def go(self, path: str, name: str | None = None):
        self.page.goto(self.base + path)
        self.check(name)
        return self.page

    def check(self, name: str | None = None):
        """axe-core on the page as it is now, and a screenshot when it is a key page. A click that submits a
        form may still be loading the next page: wait for it, and run axe again if a navigation cut it short."""
        for attempt in range(3):
            self.page.wait_for_load_state()
            try:
                assert_accessible(self.page, what=f"{self.who}: {self.page.url}")
                break
            except PlaywrightError as error:
                if "context was destroyed" not in str(error) or attempt == 2:
                    raise
        if name:
            SHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=SHOTS / f"{self.shots}-{name}.png", full_page=True)

    def log_in(self, username: str, password: str = PASSWORD, path: str = "/accounts/login/"):
        page = self.go(path)
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        self.check()
        return page


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_shop_joins_ships_and_its_customer_sees_every_handoff(
    browser, live_server, program, clock, viewport, tmp_path
):
    size = "desktop" if viewport == DESKTOP else "phone"
    shop = Journey(browser, live_server, "the shop", viewport, f"{size}-shop")

    # 1. The shop signs up and confirms its email; an admin approves it from the merchant's page.
    page = shop.go("/signup/", "signup")
    page.get_by_label("Business name").fill("Cactus Candles")
    page.get_by_label("Your name").fill("Ana Ruiz")
    page.get_by_label("Email").fill("ana@cactuscandles.example")
    page.get_by_label("Password:", exact=True).fill(SHOP_PASSWORD)
    page.get_by_label("Password again:").fill(SHOP_PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    shop.check("waiting-for-email")

    def mailed():
        """the confirmation is sent (by a worker after commit, on the Redis run)"""
        return [message for message in mail.outbox if "ana@cactuscandles.example" in message.to]

    wait_for(mailed)
    [confirmation] = mailed()
    link = re.search(r"https?://\S+(/signup/confirm/\S+/)", confirmation.body).group(1)
    shop.go(link).get_by_role("button", name="Confirm my email").click()
    expect(page.locator(".messages")).to_contain_text("your email is confirmed")
    merchant = Merchant.objects.get(display_name="Cactus Candles")

    admin = Journey(browser, live_server, "the program admin", DESKTOP, f"{size}-admin")
    admin.log_in("ops", path="/admin/login/")
    admin.go(f"/admin/merchants/merchant/{merchant.pk}/change/", "merchant-page")
    admin.page.get_by_role("button", name="Approve").click()
    admin.check()
    merchant.refresh_from_db()
    assert merchant.status == Merchant.Status.APPROVED
    admin.context.close()

    # The owner adds a store in the mall, open 10 to 9 every day.
    page = shop.go("/stores/new/", "store-form")
    page.locator("#id_name").fill("Cactus Candles Chandler")
    page.get_by_label("Mall").select_option(label="Chandler Fashion Center")
    for day in DAYS:
        page.get_by_label(f"{day} opens").fill("10:00")
        page.get_by_label(f"{day} closes").fill("21:00")
    page.get_by_role("button", name="Save store").click()
    shop.check("stores")
    store = Store.objects.get(merchant=merchant)
    assert store.site == program["mall"]

    # Two orders: Jamie's with two packages, Theo's with one.
    jamie = create_order(shop, "POS-77", "Jamie Rivera", "100 N Arizona Ave", weights=["3", "1.5"])
    theo = create_order(shop, "POS-78", "Theo Lindqvist", "200 S Arizona Ave", weights=["2"])
    assert jamie.packages.count() == 2

    # Labels: a real PDF with both of Jamie's label codes.
    labels = page.request.get(f"{live_server.url}/orders/{jamie.pk}/labels.pdf")
    assert labels.ok and labels.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(labels.body())).pages)
    assert all(code in text for code in jamie.packages.values_list("label_code", flat=True))

    # Ready: each order is scheduled into the late-morning window (by the worker, on the Redis pass).
    for order in (jamie, theo):
        shop.go(f"/orders/{order.pk}/").get_by_role("button", name="Flag ready for pickup").click()
        reload_until(shop.page, "h1 .status", "Scheduled")
    shop.check("order-scheduled")
    window = program["window"]
    assert set(Order.objects.values_list("pickup_window", flat=True)) == {window.pk}

    # 2. The drivers, on their phones: both see the offer, Luis accepts first, Kim finds it taken.
    offer_windows()  # as beat does every minute
    luis_user = program["drivers"][0].user
    luis = Journey(browser, live_server, "Luis", PHONE, f"{size}-luis")
    kim = Journey(browser, live_server, "Kim", PHONE, f"{size}-kim")
    for driver in (luis, kim):
        driver.log_in(driver.who.lower())
        driver.go("/driver/", "offers")
        expect(driver.page.get_by_role("button", name="Accept")).to_have_count(1)
    luis.page.get_by_role("button", name="Accept").click()
    expect(luis.page.locator(".messages")).to_contain_text("The pickup is yours")
    kim.page.get_by_role("button", name="Accept").click()
    expect(kim.page.locator(".messages")).to_contain_text("Already taken: another driver accepted this pickup first.")
    kim.check("taken")
    kim.context.close()
    window.refresh_from_db()
    assert window.driver.user == luis_user and window.status == PickupWindow.Status.ACCEPTED

    # 3. At the counter, ten minutes before the start: Luis checks in, types the store code the shop's
    # handoff page shows, scans the three labels as a keyboard scanner does, and leaves.
    clock.move_to(window.starts_at - timedelta(minutes=10))
    counter = Journey(browser, live_server, "the shop's counter", PHONE, f"{size}-counter")
    counter.log_in("ana@cactuscandles.example", SHOP_PASSWORD)
    code = counter.go(f"/stores/{store.pk}/handoff/", "handoff").locator("[data-code]").inner_text().strip()
    # the form asks for the place first (refused here), then submits itself: wait for the page it brings
    visit = luis.go(f"/driver/windows/{window.pk}/")
    with visit.expect_navigation():
        visit.get_by_role("button", name="I'm here").click()
    luis.check("checked-in")
    luis.page.locator(f"#code-{store.pk}").fill(code)
    labels = [
        *jamie.packages.values_list("label_code", flat=True),
        *theo.packages.values_list("label_code", flat=True),
    ]
    for number, label in enumerate(labels, 1):
        luis.page.locator(f"#label-{store.pk}").click()
        luis.page.keyboard.type(label)
        luis.page.keyboard.press("Enter")
        # A busy two-core CI machine can take seconds to answer: patience rather than a flaky failure.
        expect(luis.page.locator(".scan-results")).to_contain_text(f"{label}: Collected.", timeout=15000)
        if number == 1:
            luis.check("scanned")  # before the last parcel, whose page leaves by itself mid-check
    # The last parcel ends the visit by itself, and the page goes on to the run.
    expect(luis.page.locator(".scan-results")).to_contain_text("Every parcel collected: the visit is over.")
    luis.page.wait_for_url(lambda url: f"/driver/windows/{window.pk}/" not in url)
    luis.go("/driver/run/", "run")
    counter.page.reload()
    expect(counter.page.locator(".handoff-window .count")).to_contain_text("3 of 3 parcels collected")
    counter.check("handoff-collected")

    # 4. The run: Jamie's parcels handed to Jamie with a photo; nobody home at Theo's, so back to the store.
    stop = luis.page.locator(f"#stop-{jamie.pk}")
    stop.locator("summary", has_text=re.compile("^Delivered$")).click()
    stop.locator(f"#left-{jamie.pk}").select_option(index=0)
    stop.locator(f"#name-{jamie.pk}").fill("Jamie")
    stop.locator(f"#photo-{jamie.pk}").set_input_files(a_photo(tmp_path))
    stop.get_by_role("button", name="Delivered").click()
    expect(luis.page.locator(".messages")).to_contain_text("Delivered to Jamie")
    stop = luis.page.locator(f"#stop-{theo.pk}")
    stop.locator("summary", has_text=re.compile("^Couldn't deliver$")).click()
    stop.locator(f"#reason-{theo.pk}").select_option(label="Nobody was home")
    stop.get_by_role("button", name="Couldn't deliver").click()
    expect(luis.page.locator(".messages")).to_contain_text(f"back to {store.name}")
    luis.check("failed")
    luis.go("/driver/returns/", "returns")
    luis.page.locator(f"#code-{store.pk}").fill(counter.page.locator("[data-code]").inner_text().strip())
    [theo_label] = theo.packages.values_list("label_code", flat=True)
    luis.page.locator(f"#label-{store.pk}").click()
    luis.page.keyboard.type(theo_label)
    luis.page.keyboard.press("Enter")
    expect(luis.page.locator(".scan-results li").first).to_have_text(f"{theo_label}: Returned.")
    luis.check("returned")
    luis.context.close()

    # The shop sends Theo's parcel out again.
    counter.go(f"/orders/{theo.pk}/").get_by_role("button", name=re.compile("^Send out again")).click()
    expect(counter.page.locator("h1 .status")).to_have_text(re.compile("Ready for pickup|Scheduled"))
    counter.check("sent-again")
    counter.context.close()
    assert Order.objects.get(pk=jamie.pk).status == Order.Status.DELIVERED
    assert Order.objects.get(pk=theo.pk).status in (Order.Status.READY, Order.Status.SCHEDULED)

    # 5. Jamie's tracking page: every step, the promised day, nothing personal beyond a first name.
    customer = Journey(browser, live_server, "Jamie", PHONE, f"{size}-customer")
    tracking = customer.go(f"/track/{jamie.tracking_code}/", "tracking")
    expect(tracking.locator("h1")).to_have_text("Your parcel was delivered.")
    expect(tracking.locator(".stepper li.done")).to_have_count(5)
    body = tracking.locator("body").inner_text()
    for private in ("Rivera", "480-555-0199", "0199", "100 N Arizona", "Arizona Ave"):
        assert private not in body, private
    assert "Jamie" in body
    customer.context.close()
    shop.context.close()


def create_order(shop: Journey, number: str, customer: str, street: str, weights: list[str]) -> Order:
    page = shop.go("/orders/new/", f"order-form-{number}")
    store = page.get_by_label("Store")
    if store.evaluate("element => element.tagName") == "SELECT" and not store.input_value():
        store.select_option(index=1)
    page.get_by_label("Your order number").fill(number)
    page.get_by_label("Customer name").fill(customer)
    page.get_by_label("Customer phone").fill("480-555-0199")
    page.get_by_label("Address:", exact=True).fill(street)
    page.get_by_label("City").fill("Chandler")
    page.get_by_label("State").fill("AZ")
    page.get_by_label("ZIP code").fill("85225")
    for index, weight in enumerate(weights):
        if index:
            page.get_by_role("button", name="Add a package").click()
        page.locator(f"#id_packages-{index}-weight_lb").fill(weight)
    page.get_by_role("button", name="Create order").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Order {number}")
    shop.check()
    return Order.objects.get(external_id=number)


def reload_until(page, selector: str, text: str, timeout: float = 30.0) -> None:
    """Reload until the element shows the text: what a worker does arrives a moment after the click."""
    deadline = time.monotonic() + timeout
    while True:
        if text in page.locator(selector).inner_text():
            return
        if time.monotonic() > deadline:
            expect(page.locator(selector)).to_have_text(text)
        page.wait_for_timeout(300)
        page.reload()


def a_photo(folder):
    """A small JPEG, as a phone's camera hands it to the file input."""
    data = BytesIO()
    Image.new("RGB", (64, 48), (180, 120, 60)).save(data, "JPEG")
    path = folder / "at-the-door.jpg"
    path.write_bytes(data.getvalue())
    return path
