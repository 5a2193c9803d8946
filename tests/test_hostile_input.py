"""Hostile and careless input at every entrance: Unicode digits, malformed ids, oversized text and bodies,
coordinates that disagree with the address, and the ledger naming drivers as everything else does."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from common.geocoding import GeocodingError, geocode
from deliveries.api.urls import router as driver_router
from deliveries.runs import run_announce
from deliveries.services import window_offer_wave
from merchants.api.urls import router as store_router
from merchants.handoff_codes import store_code
from merchants.models import Store
from merchants.services import api_key_create
from pickups import csv_orders
from pickups.api.urls import router as order_router
from pickups.intake import MAX_COORDINATE_OFFSET_MILES, MAX_NOTES_LENGTH
from pickups.models import Order, OrderImport
from pickups.services import order_import_run
from tests.factories import PASSWORD, DriverFactory, MembershipFactory, StoreFactory
from tests.merchants.test_store_pages import form_errors, store_post
from tests.pickups.test_order_pages import order_post

pytestmark = pytest.mark.django_db

# Digits that are digits to Python's \d and int(), but not to a ZIP code (nor to the `zipcodes` library,
# which panics in native code on some of them).
UNICODE_ZIPS = ["٨٥٢٢٥", "８５２２５", "85225-١٢٣٤", "８５２２５-1234", "۸۵۲۲۵"]
ORDERS, QUOTES = "/api/v1/orders/", "/api/v1/quotes/"


class NativePanic(BaseException):
    """Like pyo3's PanicException: a BaseException, so `except Exception` does not catch it."""


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, name="Desert Bloom Chandler")


@pytest.fixture
def api(merchant):
    _, raw = api_key_create(merchant=merchant, name="Checkout", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def driver_api(driver):
    _, token = AuthToken.objects.create(user=driver.user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def new_order(store, **overrides):
    body = {
        "store": store.pk,
        "external_id": "WEB-1001",
        "service_level": "same_day",
        "customer_name": "Jamie Rivera",
        "customer_phone": "480-555-0199",
        "address_line1": "100 N Arizona Ave",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85225",
        "packages": [{"weight_lb": "2.5"}],
    }
    return body | overrides


def csv_text(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, csv_orders.IMPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def row(**changes):
    return csv_orders.EXAMPLE_ROW | changes


def upload(client, content, capture=None):
    raw = content.encode() if isinstance(content, str) else content
    data = {"file": SimpleUploadedFile("orders.csv", raw, "text/csv")}
    if capture is None:
        return client.post(reverse("order_import"), data, follow=True)
    with capture(execute=True):
        return client.post(reverse("order_import"), data, follow=True)


# 1. ZIP codes: ASCII digits at every entrance; the geocoder never lets anything escape; imports always end.


def test_the_zipcodes_library_really_panics_on_unicode_digits():
    """Why the geocoder wraps it: the bundled library raises a BaseException from native code."""
    import zipcodes

    with pytest.raises(BaseException) as caught:
        zipcodes.matching("٨٥٢٢٥")
    assert not isinstance(caught.value, Exception)


@pytest.mark.parametrize("zip_code", UNICODE_ZIPS)
def test_the_orders_api_refuses_unicode_digit_zips(api, store, zip_code):
    response = api.post(ORDERS, new_order(store, postal_code=zip_code), format="json")

    assert response.status_code == 400
    assert "5-digit ZIP" in str(response.json()["postal_code"])
    assert not Order.objects.exists()


@pytest.mark.parametrize("zip_code", UNICODE_ZIPS)
def test_quotes_refuse_unicode_digit_zips(api, store, zip_code):
    body = {"store": store.pk, "service_level": "same_day", "postal_code": zip_code}

    response = api.post(QUOTES, body, format="json")

    assert response.status_code == 400
    assert "5-digit ZIP" in str(response.json()["postal_code"])


def test_the_quote_service_checks_the_zip_itself(store):
    from django.core.exceptions import ValidationError

    from pickups.quotes import quote_create

    with pytest.raises(ValidationError) as error:
        quote_create(merchant=store.merchant, store_id=store.pk, service_level="same_day", postal_code="٨٥٢٢٥")
    assert "postal_code" in error.value.message_dict


@pytest.mark.parametrize("zip_code", UNICODE_ZIPS)
def test_the_order_form_refuses_unicode_digit_zips(owner_client, store, zip_code):
    response = owner_client.post(reverse("order_create"), order_post(store, postal_code=zip_code))

    assert response.status_code == 200
    assert "5-digit ZIP" in str(response.context["form"].errors["postal_code"])
    assert not Order.objects.exists()


@pytest.mark.parametrize("zip_code", UNICODE_ZIPS)
def test_the_store_form_refuses_unicode_digit_zips(owner_client, zip_code):
    response = owner_client.post(reverse("store_create"), store_post(postal_code=zip_code))

    assert response.status_code == 200
    assert "5-digit ZIP" in " ".join(form_errors(response)["postal_code"])
    assert not Store.objects.exists()


def test_the_store_form_refuses_them_even_with_coordinates(owner_client):
    data = store_post(postal_code="٨٥٢٢٥", latitude="33.30", longitude="-111.84", timezone="America/Phoenix")

    response = owner_client.post(reverse("store_create"), data)

    assert response.status_code == 200 and "postal_code" in form_errors(response)
    assert not Store.objects.exists()


@pytest.mark.parametrize("zip_code", ["٨٥٢٢٥", "８５２２５"])
def test_a_csv_with_unicode_digit_zips_fails_on_that_line(
    owner_client, store, django_capture_on_commit_callbacks, zip_code
):
    upload(owner_client, csv_text([row(postal_code=zip_code)]), capture=django_capture_on_commit_callbacks)

    job = OrderImport.objects.get()
    assert job.status == "failed"
    assert [(p["row"], p["column"]) for p in job.errors] == [(2, "postal_code")]


@pytest.mark.parametrize("zip_code", [*UNICODE_ZIPS, "85225\n", " 85225", "85225-", "852250", "", None])
def test_the_geocoder_refuses_anything_but_an_ascii_zip(zip_code):
    with pytest.raises(GeocodingError):
        geocode(zip_code)


@pytest.mark.parametrize("failure", [NativePanic("native panic"), RuntimeError("bug"), MemoryError(), RecursionError()])
def test_no_failure_of_the_zip_library_escapes_the_geocoder(monkeypatch, failure):
    import zipcodes

    def broken(code):
        raise failure

    monkeypatch.setattr(zipcodes, "matching", broken)

    with pytest.raises(GeocodingError, match="85225"):
        geocode("85225")


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_stopping_the_process_still_stops_it(monkeypatch, stop):
    import zipcodes

    def interrupted(code):
        raise stop

    monkeypatch.setattr(zipcodes, "matching", interrupted)

    with pytest.raises(stop):
        geocode("85225")


def exploding_geocoder(postal_code):
    raise NativePanic("a paid geocoder's client blew up")


@override_settings(GEOCODER="tests.test_hostile_input.exploding_geocoder")
def test_any_configured_geocoder_is_wrapped_too(api, store):
    with pytest.raises(GeocodingError):
        geocode("85225")

    response = api.post(ORDERS, new_order(store), format="json")

    assert response.status_code == 400 and "postal_code" in response.json()


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (NativePanic("boom"), "an error on our side"),
        (RuntimeError("boom"), "an error on our side"),
        (SoftTimeLimitExceeded(), "took too long"),
    ],
)
def test_an_import_that_breaks_for_any_reason_ends_failed_with_the_reason(
    owner_client, store, django_capture_on_commit_callbacks, monkeypatch, failure, words
):
    def broken(**kwargs):
        raise failure

    monkeypatch.setattr("pickups.services.check_rows", broken)

    upload(owner_client, csv_text([row()]), capture=django_capture_on_commit_callbacks)

    job = OrderImport.objects.get()
    assert job.status == "failed" and job.finished_at is not None and not Order.objects.exists()
    page = owner_client.get(reverse("order_import_detail", args=[job.pk])).content.decode()
    assert "Nothing was imported" in page and words in page
    assert "boom" not in page  # the merchant gets words, not our internals


def test_an_import_whose_worker_keeps_dying_is_given_up(store):
    """Killed at the hard time limit or out of memory, nothing in Python can catch it: the sweep resumes the
    import, and once it has been unfinished for too long, the next run fails it instead of trying for ever."""
    from pickups.services import IMPORT_GIVE_UP_AFTER

    job = OrderImport.objects.create(
        merchant=store.merchant, filename="a.csv", content=csv_text([row()]), total_rows=1, status="running"
    )
    OrderImport.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - IMPORT_GIVE_UP_AFTER - timedelta(minutes=1),
        started_at=timezone.now() - timedelta(minutes=6),
    )

    job = order_import_run(import_id=job.pk)

    assert job.status == "failed" and "stopped before it finished" in job.errors[0]["message"]
    assert not Order.objects.exists()


def test_an_import_whose_worker_died_once_is_resumed(store):
    job = OrderImport.objects.create(
        merchant=store.merchant, filename="a.csv", content=csv_text([row()]), total_rows=1, status="running"
    )
    OrderImport.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(minutes=6))

    assert order_import_run(import_id=job.pk).status == "succeeded"


# 2. Malformed ids are 404s on every route.

BAD_IDS = ["abc", "99999999999999999999", "-1", "0x1", "1e3", "%20"]


def api_detail_routes():
    """(route name, HTTP method) of every API route that takes an id, from the routers themselves."""
    routes = []
    for router in (order_router, store_router, driver_router):
        for pattern in router.urls:
            if "<pk>" in str(pattern.pattern):
                routes += [(pattern.name, method) for method in pattern.callback.actions]
    return routes


def test_every_api_route_with_an_id_is_checked():
    names = {name for name, _ in api_detail_routes()}
    assert {"order-detail", "order-cancel", "store-handoff-code", "driver-offer-accept"} <= names
    assert {"driver-offer-decline", "driver-window-pickup", "driver-order-deliver"} <= names


# A body that passes every action's own checks, so only the id can be wrong.
VALID_BODY = {
    "reason": "not_home",
    "recipient_name": "Jo",
    "store": 1,
    "store_code": "123456",
    "label_codes": ["X1"],
}


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize(("name", "method"), api_detail_routes())
def test_a_malformed_id_is_a_404_on_every_api_route(api, driver, name, method, bad_id):
    client = driver_api(driver) if name.startswith("driver-") else api
    path = reverse(name, kwargs={"pk": "PK"}).replace("PK", bad_id)

    response = getattr(client, method)(path, VALID_BODY, format="json") if method == "post" else client.get(path)

    assert response.status_code == 404, (path, response.status_code)
    assert "detail" in json.loads(response.content)


def portal_routes_with_ids(resolver=None, prefix=""):
    """Every portal URL whose pk is an int: its name and path with a marker for the id."""
    resolver = resolver or get_resolver()
    found = []
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not text.startswith("api/") and not text.startswith("admin/"):
                found += portal_routes_with_ids(pattern, text)
        elif isinstance(pattern, URLPattern) and isinstance(pattern.pattern.converters.get("pk"), IntConverter):
            found.append((pattern.name, text))
    return found


@pytest.mark.parametrize(("name", "route"), portal_routes_with_ids())
def test_an_absurd_id_is_a_404_on_every_portal_route(client, owner, driver, name, route):
    client.force_login(driver.user if name.startswith("driver_") else owner)
    path = "/" + route.replace("<int:pk>", "99999999999999999999").replace("<int:event_pk>", "1")

    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path, {"reason": "x"})

    assert response.status_code == 404, (path, response.status_code)


# 3. The driver token endpoint says the same whether the password was wrong or the login is not a driver's.


def test_the_token_endpoint_is_no_oracle_for_non_driver_logins(driver):
    merchant_user = MembershipFactory().user
    right_password = APIClient().post("/api/v1/auth/token/", {"username": merchant_user.username, "password": PASSWORD})
    wrong_password = APIClient().post("/api/v1/auth/token/", {"username": merchant_user.username, "password": "x"})
    unknown = APIClient().post("/api/v1/auth/token/", {"username": "nobody@x.example", "password": PASSWORD})

    assert right_password.status_code == wrong_password.status_code == unknown.status_code == 400
    assert right_password.json() == wrong_password.json() == unknown.json()
    assert "Unable to log in with provided credentials." in str(right_password.json())
    assert not AuthToken.objects.exists()


# 4. The address decides where the customer is; coordinates may only refine it.

CHANDLER_ZIP_CENTRE = (Decimal("33.3105"), Decimal("-111.8239"))  # 85225, from the ZIP data
MILE = Decimal("0.014493")  # of latitude


def test_new_york_with_chandler_coordinates_is_refused(api, store):
    site = store.site
    body = new_order(
        store,
        city="New York",
        state="NY",
        postal_code="10001",
        latitude=str(site.latitude),
        longitude=str(site.longitude),
    )

    response = api.post(ORDERS, body, format="json")

    assert response.status_code == 400
    [message] = response.json()["latitude"]
    assert "10001" in message and f"{MAX_COORDINATE_OFFSET_MILES} miles" in message
    assert not Order.objects.exists()


def test_coordinates_may_refine_the_point_within_the_zip(api, store):
    lat, lng = CHANDLER_ZIP_CENTRE
    body = new_order(store, latitude=str(lat + 2 * MILE), longitude=str(lng))

    response = api.post(ORDERS, body, format="json")

    assert response.status_code == 201, response.json()
    assert Decimal(response.json()["latitude"]) == lat + 2 * MILE


def test_coordinates_just_beyond_the_limit_are_refused(api, store):
    lat, lng = CHANDLER_ZIP_CENTRE
    body = new_order(store, latitude=str(lat + (MAX_COORDINATE_OFFSET_MILES + 1) * MILE), longitude=str(lng))

    response = api.post(ORDERS, body, format="json")

    assert response.status_code == 400 and "latitude" in response.json()


def test_an_unknown_zip_cannot_be_rescued_by_coordinates(api, store):
    site = store.site
    body = new_order(store, postal_code="00000", latitude=str(site.latitude), longitude=str(site.longitude))

    response = api.post(ORDERS, body, format="json")

    assert response.status_code == 400 and "postal_code" in response.json()


def test_quotes_apply_the_same_rule(api, store):
    site = store.site
    body = {
        "store": store.pk,
        "service_level": "same_day",
        "postal_code": "10001",
        "latitude": str(site.latitude),
        "longitude": str(site.longitude),
    }

    response = api.post(QUOTES, body, format="json")

    assert response.status_code == 400 and "latitude" in response.json()


def test_the_order_form_applies_the_same_rule(owner_client, store):
    site = store.site
    data = order_post(store, postal_code="10001", latitude=str(site.latitude), longitude=str(site.longitude))

    response = owner_client.post(reverse("order_create"), data)

    assert response.status_code == 200 and "latitude" in response.context["form"].errors
    assert not Order.objects.exists()


# 5. Lengths: every free-text input has a maximum, answered with the API's JSON 400.


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("notes", "n" * (MAX_NOTES_LENGTH + 1)),
        ("external_id", "E" * 65),
        ("customer_name", "N" * 201),
        ("customer_phone", "4" * 31),
        ("customer_email", "a" * 250 + "@example.com"),
        ("address_line1", "A" * 201),
        ("address_line2", "A" * 201),
        ("city", "C" * 101),
    ],
)
def test_every_free_text_field_of_an_order_has_a_maximum(api, store, field, value):
    response = api.post(ORDERS, new_order(store, **{field: value}), format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Order.objects.exists()


def test_notes_of_the_longest_length_are_taken(api, store):
    response = api.post(ORDERS, new_order(store, notes="n" * MAX_NOTES_LENGTH), format="json")

    assert response.status_code == 201


def test_the_order_form_limits_notes_too(owner_client, store):
    response = owner_client.post(reverse("order_create"), order_post(store, notes="n" * (MAX_NOTES_LENGTH + 1)))

    assert response.status_code == 200 and "notes" in response.context["form"].errors
    assert not Order.objects.exists()


def test_a_csv_limits_notes_too(owner_client, store, django_capture_on_commit_callbacks):
    text = csv_text([row(notes="n" * (MAX_NOTES_LENGTH + 1))])

    upload(owner_client, text, capture=django_capture_on_commit_callbacks)

    assert [(p["row"], p["column"]) for p in OrderImport.objects.get().errors] == [(2, "notes")]


def test_a_list_of_packages_is_refused_beyond_the_limit_before_each_is_checked(api, store):
    response = api.post(ORDERS, new_order(store, packages=[{"weight_lb": "x"}] * 5000), format="json")

    assert response.status_code == 400
    assert "1 to 20 packages" in str(response.json()["packages"])


def test_the_cancel_reason_has_a_maximum(api, store):
    order = api.post(ORDERS, new_order(store), format="json").json()

    response = api.post(f"{ORDERS}{order['id']}/cancel/", {"reason": "r" * 301}, format="json")

    assert response.status_code == 400 and "reason" in response.json()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/driver/orders/1/fail/", {"reason": "other", "note": "n" * 501}, "note"),
        ("/api/v1/driver/orders/1/deliver/", {"recipient_name": "R" * 201}, "recipient_name"),
        ("/api/v1/driver/returns/", {"store": 1, "store_code": "1" * 13, "label_codes": ["X"]}, "store_code"),
        ("/api/v1/driver/returns/", {"store": 1, "store_code": "123456", "label_codes": ["X" * 41]}, "label_codes"),
        ("/api/v1/driver/returns/", {"store": 1, "store_code": "123456", "label_codes": ["X"] * 501}, "label_codes"),
    ],
)
def test_every_free_text_field_of_the_driver_api_has_a_maximum(driver, path, body, field):
    response = driver_api(driver).post(path, body, format="json")

    assert response.status_code == 400 and field in response.json(), response.json()


@pytest.mark.parametrize(("field", "length"), [("username", 151), ("password", 4097)])
def test_the_login_fields_have_a_maximum(driver, field, length):
    body = {"username": driver.user.username, "password": PASSWORD} | {field: "x" * length}

    response = APIClient().post("/api/v1/auth/token/", body, format="json")

    assert response.status_code == 400 and field in response.json()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.parametrize("path", [ORDERS, QUOTES])
def test_a_json_body_over_the_limit_is_a_json_413(api, store, path):
    response = api.post(path, new_order(store, notes="n" * 2000), format="json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "1000 bytes" in response.json()["detail"] or "too large" in response.json()["detail"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_form_body_over_the_limit_is_a_json_413(driver):
    response = driver_api(driver).post(
        "/api/v1/driver/orders/1/fail/", {"reason": "other", "note": "n" * 2000}, format="multipart"
    )

    assert response.status_code == 413 and "detail" in response.json()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_token_request_over_the_limit_is_a_json_413(driver):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": driver.user.username, "password": "x" * 2000}, format="json"
    )

    assert response.status_code == 413 and "detail" in response.json()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_within_the_limit_still_works(api, store):
    response = api.post(QUOTES, {"store": store.pk, "service_level": "same_day", "postal_code": "85225"}, format="json")

    assert response.status_code == 201


# 6. The ledger names a driver by first name, as every other place a merchant looks does.


DRIVER_EVENTS = [
    "order.driver_assigned",
    "order.driver_arrived",
    "order.picked_up",
    "order.out_for_delivery",
    "order.delivered",
]


def test_the_ledger_shows_the_drivers_first_name_only(window, api, django_capture_on_commit_callbacks):
    driver = DriverFactory(user__first_name="Dee", user__last_name="Okafor")
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    assert offer.driver == driver
    order = window.orders.get()
    client = driver_api(driver)
    with django_capture_on_commit_callbacks(execute=True):  # the ledger notes the driver after the accept commits
        assert client.post(f"/api/v1/driver/offers/{offer.pk}/accept/").status_code == 200

    with time_machine.travel(window.starts_at - timedelta(minutes=10)):
        assert client.post(f"/api/v1/driver/windows/{window.pk}/arrive/", {}, format="json").status_code == 200
        body = {
            "store": order.store_id,
            "store_code": store_code(order.store).code,
            "label_codes": [p.label_code for p in order.packages.all()],
        }
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(f"/api/v1/driver/windows/{window.pk}/pickup/", body, format="json").status_code == 200
        run_announce(window_id=window.pk, now=timezone.now())
        delivered = client.post(f"/api/v1/driver/orders/{order.pk}/deliver/", {"recipient_name": "Jo"}, format="json")
        assert delivered.status_code == 200

    _, raw = api_key_create(merchant=order.merchant, name="Ledger", created_by=None)
    merchant = APIClient()
    merchant.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    events = merchant.get(f"{ORDERS}{order.pk}/events/").json()
    by_driver = {event["type"]: event["actor"] for event in events if event["type"] in DRIVER_EVENTS}
    assert by_driver == dict.fromkeys(DRIVER_EVENTS, "Dee"), [(e["type"], e["actor"]) for e in events]
    assert "Okafor" not in json.dumps(events)


def test_an_actor_of_a_driver_is_their_first_name():
    from common.actors import Actor

    driver = DriverFactory(user__first_name="Dee", user__last_name="Okafor")

    assert Actor.of_driver(driver.user) == Actor(user=driver.user, label="Dee")


# 7. CSV: the real size of a big file, and lines numbered as the merchant's spreadsheet numbers them.


def test_a_20_mb_file_is_reported_as_20_mb(owner_client, store):
    response = upload(owner_client, b"x" * (20 * 1024 * 1024))

    errors = " ".join(response.context["form"].errors["file"])
    assert "20.0 MB" in errors and "at most 2 MB" in errors
    assert not OrderImport.objects.exists()


def test_a_file_just_over_the_limit_is_not_said_to_be_2_mb(owner_client, store):
    response = upload(owner_client, b"x" * (csv_orders.MAX_IMPORT_BYTES + 1))

    errors = " ".join(response.context["form"].errors["file"])
    assert "2.1 MB" in errors


def test_problem_lines_are_the_spreadsheets_row_numbers(owner_client, store, django_capture_on_commit_callbacks):
    lines = csv_text([row(external_id="A-1", notes="Ring the bell\ntwice")]).splitlines(keepends=True)
    commas = "," * (len(csv_orders.IMPORT_COLUMNS) - 1) + "\n"
    bad = csv_text([row(external_id="A-2", store="Nowhere Shop")]).splitlines(keepends=True)[1]
    # row 1 header, row 2 an order with a two-line cell, row 3 empty, row 4 empty cells, row 5 the bad order
    text = "".join(lines) + "\n" + commas + bad

    upload(owner_client, text, capture=django_capture_on_commit_callbacks)

    assert {(p["row"], p["column"]) for p in OrderImport.objects.get().errors} == {(5, "store")}


def test_an_invalid_csv_line_is_named_as_the_spreadsheet_numbers_it(owner_client, store):
    text = csv_text([row(notes="Ring\nthe bell"), row(external_id="A-2")]) + "\n" + csv_text([row(notes="n" * 200_000)])
    # rows: 1 header, 2 and 3 orders, 4 empty, 5 a second header, 6 the oversized cell

    response = upload(owner_client, text)

    assert "Line 6 is not valid CSV" in " ".join(response.context["form"].errors["file"])


def test_lines_of_orders_refused_at_creation_are_the_spreadsheets_too(
    owner_client, store, django_capture_on_commit_callbacks, monkeypatch
):
    """An order number taken between the check and the creation: the line named is still the file's."""
    from pickups import services
    from tests.factories import make_orders

    real = services.check_rows

    def then_taken(**kwargs):
        checked = real(**kwargs)
        make_orders(store, number="A-2")
        return checked

    monkeypatch.setattr(services, "check_rows", then_taken)
    text = csv_text([row(external_id="A-1")]) + "\n" + csv_text([row(external_id="A-2")]).splitlines()[1] + "\n"

    upload(owner_client, text, capture=django_capture_on_commit_callbacks)

    job = OrderImport.objects.get()
    assert [(p["row"], p["column"]) for p in job.errors] == [(4, "external_id")]
