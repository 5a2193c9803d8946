"""The delivery promise in a real browser (Debian's Chromium): the demo shop page against the demo data, and a
shop's own page on another origin, where the quote goes through a real CORS preflight."""

import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from playwright.sync_api import expect

from demo.seed import WIDGET_DEMO_STORE, seed_demo
from merchants.models import ApiKey, Store
from pickups.models import Quote

pytestmark = pytest.mark.django_db(transaction=True)

DEMO_KEY = "mpk_pub_demo_desert-bloom-boutique"

RECORD_QUOTES = """
window.quoteEvents = [];
document.addEventListener("mallpickup:quote", (event) => window.quoteEvents.push(event.detail));
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`securitypolicyviolation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def browser_context_args(browser_context_args):
    """The shopper is in Chandler, like the store: times read as the store's."""
    return {**browser_context_args, "timezone_id": "America/Phoenix"}


@pytest.fixture
def demo_shop(live_server, settings):
    """The demo data on Monday 2027-01-04 at 10:00 in Chandler (the portal's clock; the browser's is corrected
    from the Date header), the demo page on, and the demo key listing this server's origin too."""
    settings.DEBUG = True
    with time_machine.travel(datetime(2027, 1, 4, 17, 0, tzinfo=UTC)):
        seed_demo()
        api_key = ApiKey.objects.get(kind=ApiKey.Kind.PUBLISHABLE, merchant__display_name="Desert Bloom Boutique")
        ApiKey.objects.filter(pk=api_key.pk).update(allowed_origins=[*api_key.allowed_origins, live_server.url])
        yield Store.objects.get(name=WIDGET_DEMO_STORE)


class ShopSite:
    """A shop's own web site on this machine (another port: another origin), serving one checkout page with
    the widget's tag pointing at the portal: what a merchant's site does, with a real CORS preflight."""

    def __init__(self, portal_url: str):
        self.portal_url = portal_url
        self.html = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(site.html)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, store, zip_code: str) -> str:
        self.html = (
            "<!doctype html><title>Checkout</title><h1>Your basket</h1>"
            f'<script src="{self.portal_url}/embed/promise.js" data-key="{DEMO_KEY}" data-store="{store.pk}"'
            f' data-zip="{zip_code}"></script>'
        ).encode()
        return f"{self.origin}/checkout"


@pytest.fixture
def shop_site(live_server):
    site = ShopSite(live_server.url)
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture
def violations(page):
    reported = []

    def record(message):
        if "Content Security Policy" in message.text or "securitypolicyviolation" in message.text:
            reported.append(message.text)

    page.on("console", record)
    return reported


def test_the_demo_page_promises_delivery_today_with_a_countdown(page, live_server, demo_shop, violations):
    page.clock.install()  # the browser's timers, to move the countdown on below
    page.add_init_script(RECORD_QUOTES)
    page.goto(f"{live_server.url}/embed/demo/")
    expect(page.locator("#demo-key")).to_have_text(DEMO_KEY)
    widget = page.locator("mallpickup-promise")

    widget.get_by_label("Delivery ZIP code").fill("85225")

    expect(widget.get_by_role("status")).to_contain_text("Local delivery today")
    expect(widget.get_by_role("status")).to_contain_text("Leaves the store by 2:00 PM")
    countdown = widget.locator(".c")
    expect(countdown).to_have_text(re.compile(r"^Order in the next 3 h 5\d min$"))  # until the 14:00 cutoff
    quote = Quote.objects.get()
    events = page.evaluate("window.quoteEvents")
    assert [event["quoteId"] for event in events] == [quote.pk]
    assert events[0]["eligible"] is True and events[0]["promisedDate"] == "2027-01-04"
    assert widget.get_attribute("data-quote-id") == str(quote.pk)
    expect(page.locator("#quote-id")).to_have_text(str(quote.pk))  # the shop's own listener got it

    page.clock.run_for("10:00")  # ten minutes later

    expect(countdown).to_have_text(re.compile(r"^Order in the next 3 h 4\d min$"))
    assert violations == []


def test_a_shops_page_elsewhere_gets_the_promise_through_cors(page, shop_site, demo_shop):
    api_key = ApiKey.objects.get(prefix=DEMO_KEY[:12], merchant=demo_shop.merchant)
    ApiKey.objects.filter(pk=api_key.pk).update(allowed_origins=[shop_site.origin])  # as the owner would list it
    page.add_init_script(RECORD_QUOTES)

    page.goto(shop_site.page(demo_shop, zip_code="85138"))

    status = page.locator("mallpickup-promise").get_by_role("status")
    expect(status).to_contain_text("No local delivery to 85138")
    expect(status).to_contain_text("outside the delivery area")
    assert page.evaluate("window.quoteEvents")[0]["quoteId"] == Quote.objects.get().pk


def test_a_page_the_key_does_not_list_gets_no_promise(page, shop_site, demo_shop):
    page.goto(shop_site.page(demo_shop, zip_code="85225"))  # an origin the demo key does not list

    expect(page.locator("mallpickup-promise").get_by_role("status")).to_contain_text("couldn't check delivery")
    assert not Quote.objects.exists()  # the browser never sent the POST: its preflight was not allowed
