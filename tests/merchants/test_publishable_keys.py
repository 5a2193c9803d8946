"""Publishable keys: made on the API keys page, good for delivery quotes only and only from the web pages they
list (CORS), rate-limited per key and per client; the embeddable promise script and its demo page."""

import re
from datetime import UTC, datetime, time

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from demo.seed import seed_demo
from embed.views import SCRIPT_PATH
from merchants.models import ApiKey, Merchant
from merchants.services import api_key_create, api_key_origins_clean, api_key_revoke
from pickups.models import Order, Quote
from pickups.windows import windows_plan
from tests.factories import MembershipFactory, StoreFactory
from tests.pickups.test_api_orders import new_order

pytestmark = pytest.mark.django_db

QUOTES = "/api/v1/quotes/"
SHOP = "https://shop.example"


@pytest.fixture
def store(monday_morning):
    """Open 10:00-20:00 every day in Chandler, where it is Monday 10:00; same-day cutoff 14:00."""
    store = StoreFactory(hours={day: (time(10), time(20)) for day in range(7)})
    windows_plan()
    return store


def publishable_key(merchant, origins=(SHOP,)) -> str:
    _, raw = api_key_create(
        merchant=merchant,
        name="Checkout widget",
        created_by=None,
        kind=ApiKey.Kind.PUBLISHABLE,
        allowed_origins=origins,
    )
    return raw


@pytest.fixture
def widget_key(store):
    return publishable_key(store.merchant)


def api_with(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


def ask(api, store, origin=SHOP, address="127.0.0.1", **changes):
    body = {"store": store.pk, "service_level": "same_day", "postal_code": "85225"} | changes
    headers = {"Origin": origin} if origin else {}
    return api.post(QUOTES, body, format="json", headers=headers, REMOTE_ADDR=address)


def preflight(client, path=QUOTES, origin=SHOP):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


# The API keys page


def test_an_owner_makes_a_publishable_key_listing_its_sites(owner_client, merchant):
    store = StoreFactory(merchant=merchant, name="Desert Bloom")

    response = owner_client.post(
        reverse("api_keys"),
        {
            "name": "Checkout widget",
            "kind": "publishable",
            "allowed_origins": "HTTPS://Shop.Example/\nhttps://www.shop.example:8443",
        },
    )

    html = response.content.decode()
    raw = re.search(r'id="new-key">(mpk_pub_[^<]+)<', html).group(1)
    api_key = ApiKey.objects.get()
    assert api_key.kind == ApiKey.Kind.PUBLISHABLE and api_key.prefix == raw[:12]
    assert raw not in api_key.key_hash
    assert api_key.allowed_origins == ["https://shop.example", "https://www.shop.example:8443"]
    # the snippet to paste, with one of the merchant's stores
    assert "/embed/promise.js" in html and f'data-key="{raw}"' in html and f'data-store="{store.pk}"' in html
    listing = owner_client.get(reverse("api_keys")).content.decode()
    assert raw not in listing
    assert "Publishable" in listing and "https://www.shop.example:8443" in listing


@pytest.mark.parametrize(
    ("origins", "problem"),
    [
        ("shop.example", "start with https://"),
        ("https://shop.example/checkout", "without a path"),
        ("https://shop.example/?ref=1", "without a path"),
        ("https://*.shop.example", "wildcards are not allowed"),
        ("ftp://shop.example", "start with https://"),
        ("https://shop.example:99999", "is not a web address"),
        ("", "at least one"),
    ],
)
def test_a_publishable_key_needs_good_web_addresses(owner_client, origins, problem):
    response = owner_client.post(
        reverse("api_keys"), {"name": "Widget", "kind": "publishable", "allowed_origins": origins}
    )

    assert response.status_code == 200
    assert problem in " ".join(response.context["form"].errors["allowed_origins"])
    assert not ApiKey.objects.exists()


def test_a_secret_key_lists_no_web_addresses(owner_client):
    response = owner_client.post(
        reverse("api_keys"), {"name": "Server", "kind": "secret", "allowed_origins": "https://shop.example"}
    )

    assert "Only publishable keys" in response.context["form"].errors["allowed_origins"][0]
    assert not ApiKey.objects.exists()


def test_origins_are_kept_as_browsers_send_them():
    typed = [
        "HTTPS://Shop.Example:443/",
        "https://shop.example",
        "http://localhost:8000",
        "http://LOCALHOST:80",
        "https://bücher.example",
        "http://[::1]:8000",
        " ",
    ]

    assert api_key_origins_clean(typed) == [
        "https://shop.example",
        "http://localhost:8000",
        "http://localhost",
        "https://xn--bcher-kva.example",
        "http://[::1]:8000",
    ]


def test_staff_cannot_make_publishable_keys(client, merchant):
    staff = MembershipFactory(merchant=merchant, role="staff")
    client.force_login(staff.user)

    response = client.post(reverse("api_keys"), {"name": "W", "kind": "publishable", "allowed_origins": SHOP})

    assert response.status_code == 403 and not ApiKey.objects.exists()


# What a publishable key may do


def test_a_publishable_key_gets_quotes_from_a_page_it_lists(widget_key, store):
    response = ask(api_with(widget_key), store)

    assert response.status_code == 201
    body = response.json()
    assert body["eligible"] is True and body["promised_date"] == "2027-01-04"
    assert Quote.objects.get().pk == body["id"]


def test_the_shops_server_orders_with_the_quote_from_the_page(widget_key, store):
    quote = ask(api_with(widget_key), store).json()
    _, secret = api_key_create(merchant=store.merchant, name="Server", created_by=None)

    order = api_with(secret).post("/api/v1/orders/", new_order(store, quote=quote["id"]), format="json")

    assert order.status_code == 201 and order.json()["quote"] == quote["id"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/stores/"),
        ("get", "/api/v1/stores/{store}/"),
        ("get", "/api/v1/stores/{store}/handoff-code/"),
        ("get", "/api/v1/orders/"),
        ("post", "/api/v1/orders/"),
        ("get", "/api/v1/windows/"),
        ("get", "/api/v1/webhooks/"),
        ("post", "/api/v1/webhooks/"),
        ("get", "/api/v1/driver/offers/"),
        ("get", "/api/v1/driver/run/"),
        ("get", "/api/schema/?format=json"),
    ],
)
def test_a_publishable_key_is_refused_everywhere_else(widget_key, store, method, path):
    api = api_with(widget_key)
    body = new_order(store) if path == "/api/v1/orders/" else {"url": "https://shop.example/hook"}
    kwargs = {"format": "json", "data": body} if method == "post" else {}

    response = getattr(api, method)(path.format(store=store.pk), headers={"Origin": SHOP}, **kwargs)

    assert response.status_code == 403, response.content
    assert "publishable key" in response.json()["detail"] and "POST /api/v1/quotes/" in response.json()["detail"]
    assert not Order.objects.exists()


def test_a_publishable_key_asks_only_for_its_own_merchants_stores(widget_key, store):
    response = ask(api_with(widget_key), StoreFactory())

    assert response.status_code == 400 and response.json()["store"] == ["There is no such store in your account."]


@pytest.mark.parametrize("origin", ["https://evil.example", "http://shop.example", None])
def test_a_publishable_key_is_refused_from_pages_it_does_not_list(widget_key, store, origin):
    response = ask(api_with(widget_key), store, origin=origin)

    assert response.status_code == 403
    assert "works only in web pages at https://shop.example" in response.json()["detail"]
    assert not Quote.objects.exists()


def test_a_secret_key_still_gets_quotes_from_anywhere(store):
    _, secret = api_key_create(merchant=store.merchant, name="Server", created_by=None)

    assert ask(api_with(secret), store, origin=None).status_code == 201
    assert ask(api_with(secret), store, origin="https://anywhere.example").status_code == 201


def test_a_suspended_merchants_publishable_key_is_refused_with_the_reason(widget_key, store):
    Merchant.objects.filter(pk=store.merchant_id).update(status=Merchant.Status.SUSPENDED)

    response = ask(api_with(widget_key), store)

    assert response.status_code == 403 and "suspended" in response.json()["detail"]


def test_a_revoked_publishable_key_stops_working(widget_key, store):
    api_key_revoke(api_key=ApiKey.objects.get())

    assert ask(api_with(widget_key), store).status_code == 401


# CORS on the quote endpoint


def test_a_preflight_from_a_listed_origin_is_allowed(client, widget_key):
    response = preflight(client)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response  # never with a shopper's cookies


def test_a_preflight_from_another_origin_gets_no_cors_headers(client, widget_key):
    response = preflight(client, origin="https://evil.example")

    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("path", ["/api/v1/orders/", "/api/v1/stores/", "/api/v1/webhooks/", "/dashboard/"])
def test_cors_is_only_for_the_quote_endpoint(client, widget_key, path):
    assert "Access-Control-Allow-Origin" not in preflight(client, path=path)


def test_the_quote_answer_carries_cors_headers_for_the_page(widget_key, store):
    response = ask(api_with(widget_key), store)

    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "origin" in response["Vary"].lower()
    assert "date" in response["Access-Control-Expose-Headers"]


def test_the_origin_lookup_is_cached(client, widget_key, django_assert_num_queries):
    preflight(client)

    with django_assert_num_queries(0):
        assert preflight(client)["Access-Control-Allow-Origin"] == SHOP
        assert "Access-Control-Allow-Origin" not in preflight(client, origin="https://evil.example")


def test_a_new_or_revoked_key_changes_cors_at_once(client, store, django_capture_on_commit_callbacks):
    assert "Access-Control-Allow-Origin" not in preflight(client)  # the cache now holds "no origins"

    with django_capture_on_commit_callbacks(execute=True):
        publishable_key(store.merchant)
    assert preflight(client)["Access-Control-Allow-Origin"] == SHOP

    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(api_key=ApiKey.objects.get())
    assert "Access-Control-Allow-Origin" not in preflight(client)


# Rate limits


def test_quotes_are_limited_per_key(widget_key, store, settings):
    settings.QUOTE_RATE_LIMIT = "2/minute"
    api = api_with(widget_key)

    assert [ask(api, store, address=f"10.0.0.{n}").status_code for n in (1, 2)] == [201, 201]
    over = ask(api, store, address="10.0.0.3")  # another shopper, the same shop's key

    assert over.status_code == 429 and int(over["Retry-After"]) > 0
    assert "Too many delivery quotes" in over.json()["detail"]
    assert over["Access-Control-Allow-Origin"] == SHOP  # the widget can read why
    other_store = StoreFactory()
    other_key = publishable_key(other_store.merchant)
    assert ask(api_with(other_key), other_store, address="10.0.0.4").status_code == 201  # another shop's key


def test_quotes_are_limited_per_client(widget_key, store, settings):
    settings.QUOTE_RATE_LIMIT = "2/minute"
    _, secret = api_key_create(merchant=store.merchant, name="Server", created_by=None)

    assert ask(api_with(widget_key), store).status_code == 201
    assert ask(api_with(secret), store).status_code == 201
    third_key = publishable_key(store.merchant, ["https://b.example"])
    assert ask(api_with(third_key), store, origin="https://b.example").status_code == 429  # the same client address
    assert ask(api_with(widget_key), store, address="10.0.0.9").status_code == 201


# The promise a checkout shows


def test_a_same_day_quote_today_says_until_when_to_order(widget_key, store):
    body = ask(api_with(widget_key), store).json()

    assert body["order_before"] == "2027-01-04T21:00:00Z"  # the store's 14:00 cutoff in Chandler


@pytest.mark.parametrize(
    ("moment", "changes"),
    [
        (datetime(2027, 1, 4, 22, 0, tzinfo=UTC), {}),  # 15:00: after the cutoff, delivered tomorrow
        (None, {"service_level": "two_day"}),
        (None, {"postal_code": "85138"}),  # outside the radius
    ],
)
def test_other_promises_have_no_countdown(widget_key, store, moment, changes):
    with time_machine.travel(moment or datetime(2027, 1, 4, 17, 0, tzinfo=UTC)):
        body = ask(api_with(widget_key), store, **changes).json()

    assert body["order_before"] is None


def test_the_schema_documents_order_before(client):
    schema = client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/quotes/"]["post"]
    ref = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/Quote")
    assert "order_before" in schema["components"]["schemas"]["Quote"]["properties"]


# The script and its demo page


def test_the_script_is_small():
    assert SCRIPT_PATH.stat().st_size < 10 * 1024


def test_any_site_may_load_the_script_and_keep_it(client):
    response = client.get("/embed/promise.js")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert b"mallpickup:quote" in response.content
    assert "max-age=86400" in response["Cache-Control"] and "public" in response["Cache-Control"]
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    again = client.get("/embed/promise.js", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_the_demo_page_is_for_development_only(client):
    assert client.get("/embed/demo/").status_code == 404


def test_the_demo_page_shows_the_seeded_key_under_the_policy(client, settings):
    settings.DEBUG = True
    seed_demo()
    api_key = ApiKey.objects.get(kind=ApiKey.Kind.PUBLISHABLE, merchant__display_name="Desert Bloom Boutique")
    assert {"http://localhost:8000", "http://127.0.0.1:8000"} <= set(api_key.allowed_origins)

    response = client.get("/embed/demo/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="demo-key">mpk_pub_demo_desert-bloom-boutique<' in html
    assert 'src="/embed/promise.js" data-key="mpk_pub_demo_desert-bloom-boutique"' in html
    nonce = re.search(r'<script nonce="([^"]+)">', html).group(1)
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
    assert "does not list" not in html  # the test client's origin is PORTAL_URL's, listed too


def test_the_demo_page_before_seeding_says_what_to_run(client, settings):
    settings.DEBUG = True

    assert "seed_demo" in client.get("/embed/demo/").content.decode()
