"""Changing an order until it is flagged ready (service, portal, API), and cancelling with a confirmation."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from common.actors import SYSTEM, Actor
from common.errors import NotAllowedError, TransitionError
from common.geocoding import geocode
from merchants.models import Merchant
from merchants.services import api_key_create
from pickups.custody import verify_chain
from pickups.intake import PackageDraft
from pickups.models import Order, OrderEvent
from pickups.services import order_cancel, order_edit, order_mark_ready
from tests.factories import MembershipFactory, StoreFactory, make_orders
from webhooks.models import Delivery
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

LAS_VEGAS = {"address_line1": "3200 Las Vegas Blvd S", "city": "Las Vegas", "state": "NV", "postal_code": "89109"}


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, name="Desert Bloom")


@pytest.fixture
def order(store):
    """A new order of 2 packages of 2.5 lb, with exact coordinates half a mile from the mall."""
    return Order.objects.get(pk=make_orders(store, number="POS-7", packages=2)[0].pk)


def as_stored(order) -> dict:
    """Everything an edit could change: the order's row and its packages."""
    row = Order.objects.values().get(pk=order.pk)
    packages = list(order.packages.order_by("sequence").values("label_code", "weight_lb", "length_in"))
    return row | {"packages": packages}


def edited_events(order):
    return list(OrderEvent.objects.filter(order=order, type="order.edited"))


# ---------------------------------------------------------------------------------------------
# The service


def test_changed_fields_are_written_with_one_event_saying_from_what_to_what(order, owner):
    # when
    edited = order_edit(
        order=order, changes={"customer_name": "Jamie Lee", "notes": "Ring twice"}, actor=Actor.of_user(owner)
    )

    # then
    order.refresh_from_db()
    assert (order.customer_name, order.notes) == ("Jamie Lee", "Ring twice")
    [event] = edited_events(order)
    assert event.details == {
        "changed": ["customer_name", "notes"],
        "fields": {
            "customer_name": {"from": "Jamie Rivera", "to": "Jamie Lee"},
            "notes": {"from": "", "to": "Ring twice"},
        },
    }
    assert (event.from_status, event.to_status, event.actor) == ("created", "created", owner)
    assert event.title == "Order details changed" and event.summary == "Changed: customer's name, notes"
    assert edited.changes == event.details


def test_packages_given_replace_all_of_them_with_their_labels_renumbered(order):
    tracking = order.tracking_code
    packages = [PackageDraft(Decimal("4"), Decimal("12"), Decimal("8"), Decimal("6")) for _ in range(3)]

    edited = order_edit(order=order, changes={"packages": packages}, actor=SYSTEM)

    stored = list(order.packages.order_by("sequence"))
    assert [p.label_code for p in stored] == [f"{tracking}01", f"{tracking}02", f"{tracking}03"]
    assert {(p.weight_lb, p.length_in, p.width_in, p.height_in) for p in stored} == {
        (Decimal("4.00"), Decimal("12.0"), Decimal("8.0"), Decimal("6.0"))
    }
    [event] = edited_events(order)
    assert event.details["changed"] == ["packages"] and event.details["fields"] == {}
    assert event.details["packages"] == {"from": ["2.5 lb", "2.5 lb"], "to": ["4 lb, 12×8×6 in"] * 3}
    assert [p.label_code for p in edited.new_packages] == [p.label_code for p in stored]


def test_an_edit_that_changes_nothing_records_nothing_and_says_so(order):
    before = as_stored(order)
    same = [PackageDraft(Decimal("2.50")), PackageDraft(Decimal("2.5"))]  # 2.5 and 2.50 lb are one weight

    edited = order_edit(
        order=order,
        changes={"customer_name": "Jamie Rivera", "state": "az", "store": order.store_id, "packages": same},
        actor=SYSTEM,
    )

    assert edited.changes == {}
    assert as_stored(order) == before
    assert not edited_events(order)


@pytest.mark.parametrize("move", ["ready", "cancelled"])
def test_an_order_flagged_ready_or_cancelled_cannot_change(order, move):
    if move == "ready":
        order_mark_ready(order=order, actor=SYSTEM)
    else:
        order_cancel(order=order, actor=SYSTEM, reason="Out of stock")
    before = as_stored(order)

    with pytest.raises(TransitionError, match="so it can no longer be changed"):
        order_edit(order=order, changes={"customer_name": "Jamie Lee"}, actor=SYSTEM)

    assert as_stored(order) == before
    assert not edited_events(order)


def test_an_address_outside_the_service_area_is_refused_and_nothing_changes(order):
    before = as_stored(order)

    with pytest.raises(ValidationError) as refused:
        order_edit(order=order, changes=LAS_VEGAS | {"packages": [PackageDraft(Decimal("1"))]}, actor=SYSTEM)

    assert "this store delivers within 10 miles" in refused.value.message_dict["delivery_address"][0]
    assert as_stored(order) == before
    assert not edited_events(order)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"postal_code": "00000"}, "postal_code"),
        ({"packages": [PackageDraft(Decimal("60"))]}, "packages"),
        ({"packages": []}, "packages"),
        ({"latitude": Decimal("36.1")}, "latitude"),  # far from the ZIP code: coordinates only refine it
        ({"longitude": None}, "longitude"),  # both coordinates, or neither
    ],
)
def test_the_rules_of_a_new_order_are_checked_again(order, changes, field):
    with pytest.raises(ValidationError) as refused:
        order_edit(order=order, changes=changes, actor=SYSTEM)

    assert field in refused.value.message_dict


@pytest.mark.parametrize(
    ("name", "value"), [("store", "other store"), ("external_id", "POS-8"), ("service_level", "two_day")]
)
def test_the_store_number_and_service_level_stay(order, name, value):
    if value == "other store":
        value = StoreFactory(merchant=order.merchant).pk

    with pytest.raises(ValidationError) as refused:
        order_edit(order=order, changes={name: value, "notes": "Changed"}, actor=SYSTEM)

    assert "create a new one" in refused.value.message_dict[name][0]
    assert not edited_events(order)


def test_a_new_zip_code_places_the_customer_again_rather_than_keep_the_old_coordinates(order):
    # the order was made with exact coordinates half a mile from the mall; the customer moved to 85224
    old_distance = order.distance_miles

    order_edit(order=order, changes={"address_line1": "1 W Ray Rd", "postal_code": "85224"}, actor=SYSTEM)

    order.refresh_from_db()
    point = geocode("85224")
    assert (order.latitude, order.longitude) == (point.latitude, point.longitude)
    assert order.distance_miles != old_distance
    [event] = edited_events(order)
    assert {"address_line1", "postal_code", "latitude", "longitude", "distance_miles"} <= set(event.details["changed"])
    assert event.summary == "Changed: address, ZIP code, exact location, distance"


def test_a_suspended_merchant_cannot_change_orders(order, owner_client, api):
    Merchant.objects.filter(pk=order.merchant_id).update(status=Merchant.Status.SUSPENDED)

    with pytest.raises(NotAllowedError, match="suspended"):
        order_edit(order=order, changes={"notes": "Ring twice"}, actor=SYSTEM)
    page = owner_client.get(reverse("order_edit", args=[order.pk]), follow=True)
    assert "This merchant account is suspended" in page.content.decode()
    assert api.patch(url(order), {"notes": "Ring twice"}, format="json").status_code == 403
    assert not edited_events(order)


def test_the_ledger_still_verifies_after_edits(order):
    order_edit(order=order, changes={"customer_phone": "480-555-0100"}, actor=SYSTEM)
    order_edit(order=order, changes={"packages": [PackageDraft(Decimal("1"))]}, actor=SYSTEM)
    order_mark_ready(order=order, actor=SYSTEM)

    events = list(order.events.all())
    assert [e.type for e in events] == ["order.created", "order.edited", "order.edited", "order.ready"]
    assert verify_chain(events) is None


def test_a_webhook_tells_the_merchants_system_with_the_order_as_it_is_now(order):
    endpoint_create(merchant=order.merchant, url="https://93.184.215.14/hooks", events=["order.edited"])

    order_edit(order=order, changes={"customer_name": "Jamie Lee"}, actor=SYSTEM)

    [delivery] = Delivery.objects.all()
    body = json.loads(delivery.body)
    assert body["type"] == "order.edited" and body["data"]["customer_name"] == "Jamie Lee"


def test_public_tracking_shows_none_of_the_new_customer_details(client, order):
    order_edit(
        order=order,
        changes={"customer_name": "Jamie Zebulon", "address_line1": "77 Secret Lane", "customer_phone": "480-555-0777"},
        actor=SYSTEM,
    )

    page = client.get(reverse("tracking", args=[order.tracking_code])).content.decode()
    answer = client.get(reverse("api-track", args=[order.tracking_code])).content.decode()

    for text in (page, answer):  # neither the new details nor the old ones the event keeps
        assert "Zebulon" not in text and "Secret Lane" not in text and "0777" not in text
        assert "Rivera" not in text and "Arizona Ave" not in text and "0199" not in text
    assert "Jamie" in page


# ---------------------------------------------------------------------------------------------
# The portal


def form_post(order, **overrides) -> dict:
    """The edit form as the browser sends it, prefilled from the order (disabled fields are not sent)."""
    data = {
        "customer_name": order.customer_name,
        "customer_phone": order.customer_phone,
        "customer_email": order.customer_email,
        "address_line1": order.address_line1,
        "address_line2": order.address_line2,
        "city": order.city,
        "state": order.state,
        "postal_code": order.postal_code,
        "latitude": str(order.latitude),
        "longitude": str(order.longitude),
        "notes": order.notes,
        "packages-TOTAL_FORMS": "2",
        "packages-INITIAL_FORMS": "2",
        "packages-MIN_NUM_FORMS": "1",
        "packages-MAX_NUM_FORMS": "20",
        "packages-0-weight_lb": "2.50",
        "packages-1-weight_lb": "2.50",
    }
    return data | overrides


def test_the_edit_page_is_the_order_form_prefilled(owner_client, order):
    response = owner_client.get(reverse("order_edit", args=[order.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Edit order POS-7" in page and "Save changes" in page and "Create order" not in page
    form = response.context["form"]
    assert form["customer_name"].value() == "Jamie Rivera" and form["postal_code"].value() == "85225"
    assert form.fields["store"].disabled and form.fields["external_id"].disabled
    assert form.fields["service_level"].disabled and not form.fields["notes"].disabled
    assert [row["weight_lb"].value() for row in response.context["packages"]] == [Decimal("2.50")] * 2
    assert 'value="Jamie Rivera"' in page


def test_the_order_page_offers_to_edit_only_a_new_order(owner_client, order):
    edit = reverse("order_edit", args=[order.pk])

    assert edit in owner_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    order_mark_ready(order=order, actor=SYSTEM)
    assert edit not in owner_client.get(reverse("order_detail", args=[order.pk])).content.decode()


def test_an_edit_from_the_form_is_saved_and_shown_in_the_history(owner_client, order):
    data = form_post(order, customer_name="Jamie Lee", **{"packages-TOTAL_FORMS": "1"})

    response = owner_client.post(reverse("order_edit", args=[order.pk]), data, follow=True)

    assert response.redirect_chain == [(reverse("order_detail", args=[order.pk]), 302)]
    page = response.content.decode()
    assert "Order POS-7 changed. Print its labels again." in page
    assert "Order details changed" in page and "Changed: customer&#x27;s name, packages" in page
    order.refresh_from_db()
    assert order.customer_name == "Jamie Lee" and order.packages.count() == 1


def test_the_form_sent_back_as_it_was_changes_nothing_and_says_so(owner_client, order):
    response = owner_client.post(reverse("order_edit", args=[order.pk]), form_post(order), follow=True)

    assert "Nothing changed: order POS-7 is as it was." in response.content.decode()
    assert not edited_events(order)


def test_fields_that_stay_cannot_be_changed_by_sending_them(owner_client, order):
    other = StoreFactory(merchant=order.merchant)
    data = form_post(order, store=other.pk, external_id="HACKED", service_level="two_day")

    owner_client.post(reverse("order_edit", args=[order.pk]), data)

    order.refresh_from_db()
    assert (order.store_id, order.external_id, order.service_level) == (order.store.pk, "POS-7", "same_day")
    assert order.store != other


def test_an_address_out_of_the_area_is_explained_on_the_form(owner_client, order):
    before = as_stored(order)

    response = owner_client.post(
        reverse("order_edit", args=[order.pk]), form_post(order, latitude="", longitude="", **LAS_VEGAS)
    )

    assert response.status_code == 200
    assert "this store delivers within 10 miles" in response.content.decode()
    assert as_stored(order) == before


def test_another_merchants_order_is_404(client, order):
    client.force_login(MembershipFactory().user)

    assert client.get(reverse("order_edit", args=[order.pk])).status_code == 404
    assert client.post(reverse("order_edit", args=[order.pk]), form_post(order, notes="x")).status_code == 404
    assert not edited_events(order)


def test_an_order_no_longer_editable_sends_back_to_the_order_with_the_reason(owner_client, order):
    order_mark_ready(order=order, actor=SYSTEM)

    got = owner_client.get(reverse("order_edit", args=[order.pk]), follow=True)
    sent = owner_client.post(reverse("order_edit", args=[order.pk]), form_post(order, notes="x"), follow=True)

    for response in (got, sent):
        assert response.redirect_chain == [(reverse("order_detail", args=[order.pk]), 302)]
        assert "is ready for pickup, so it can no longer be changed" in response.content.decode()
    assert not edited_events(order)


# ---------------------------------------------------------------------------------------------
# The API


def url(order) -> str:
    return f"/api/v1/orders/{order.pk}/"


def test_patch_changes_the_given_fields_and_answers_the_order(api, order):
    package = {"weight_lb": "3", "length_in": "10", "width_in": "8", "height_in": "4"}

    response = api.patch(url(order), {"customer_email": "jamie.lee@example.com", "packages": [package]}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["customer_email"] == "jamie.lee@example.com" and body["customer_name"] == "Jamie Rivera"
    assert [(p["label_code"], p["weight_lb"], p["height_in"]) for p in body["packages"]] == [
        (f"{order.tracking_code}01", "3.00", "4.0")
    ]
    assert body == api.get(url(order)).json()
    events = api.get(f"{url(order)}events/").json()
    assert events[-1]["type"] == "order.edited"
    assert events[-1]["details"]["changed"] == ["customer_email", "packages"]


def test_patch_with_the_same_values_changes_nothing(api, order):
    response = api.patch(url(order), {"customer_name": "Jamie Rivera", "store": order.store_id}, format="json")

    assert response.status_code == 200
    assert not edited_events(order)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"postal_code": "8522"}, "postal_code", "5-digit ZIP"),
        (LAS_VEGAS, "delivery_address", "within 10 miles"),
        ({"packages": []}, "packages", "1 to 20 packages"),
        ({"packages": [{"weight_lb": "51"}]}, "packages", "up to 50 lb"),
        ({"customer_name": ""}, "customer_name", "may not be blank"),
        ({"latitude": "33.3", "longitude": None}, "longitude", "both coordinates"),
        ({"service_level": "two_day"}, "service_level", "cannot be changed"),
        ({"external_id": "POS-8"}, "external_id", "cannot be changed"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api, order, changes, field, words):
    before = as_stored(order)

    response = api.patch(url(order), changes, format="json")

    assert response.status_code == 400
    assert words in str(response.json()[field]), response.json()
    assert as_stored(order) == before


def test_patch_of_an_order_flagged_ready_is_409(api, order):
    order_mark_ready(order=order, actor=SYSTEM)

    response = api.patch(url(order), {"notes": "Ring twice"}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Order POS-7 is ready for pickup, so it can no longer be changed: its parcels wait for a driver "
        "as labelled. Cancel it and create a new one if they must change."
    }


def test_patch_of_another_merchants_order_is_404(order):
    _, raw = api_key_create(merchant=MembershipFactory().merchant, name="Theirs", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.patch(url(order), {"notes": "Mine now"}, format="json")

    assert response.status_code == 404
    assert not edited_events(order)


def test_anonymous_patch_is_401(order):
    assert APIClient().patch(url(order), {"notes": "x"}, format="json").status_code == 401


@pytest.mark.parametrize("packages", [1, 10])
def test_patch_runs_a_bounded_number_of_queries(api, store, packages, django_assert_max_num_queries):
    [order] = make_orders(store, packages=packages)
    body = {"customer_name": "Jamie Lee", "postal_code": "85224", "packages": [{"weight_lb": "1"}] * packages}

    with django_assert_max_num_queries(12):  # the same for 1 or 10 packages
        response = api.patch(url(order), body, format="json")

    assert response.status_code == 200


def test_the_schema_documents_patch_with_its_errors(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/orders/{id}/"]["patch"]
    assert operation["operationId"] == "orders_partial_update"
    assert {"200", "400", "401", "403", "404", "409"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][body]
    assert "required" not in fields and "quote" not in fields["properties"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_edits_and_a_ready_click_lose_nothing_and_change_nothing_after_ready():
    # given: four PATCHes of different fields, and "ready", sent at once
    store = StoreFactory()
    [order] = make_orders(store)
    _, raw = api_key_create(merchant=store.merchant, name="Checkout", created_by=None)
    edits = [{"notes": "Ring twice"}, {"customer_phone": "480-555-0100"}, {"city": "Chandler Heights"}]
    edits += [{"address_line2": "Apt 4"}]
    barrier = threading.Barrier(len(edits) + 1)

    def send(body):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        barrier.wait(timeout=30)
        try:
            if body is None:
                return client.post(f"{url(order)}ready/").status_code
            return client.patch(url(order), body, format="json").status_code
        finally:
            connection.close()

    # when
    with ThreadPoolExecutor(len(edits) + 1) as pool:
        *edited, ready = pool.map(send, [*edits, None])

    # then: each edit happened whole before the order was ready, or was refused; none was lost to another
    assert ready == 200 and set(edited) <= {200, 409}
    order.refresh_from_db()
    for body, status in zip(edits, edited, strict=True):
        [(name, value)] = body.items()
        assert (getattr(order, name) == value) == (status == 200), (name, status)
    events = list(order.events.all())
    assert [e.type for e in events].count("order.edited") == edited.count(200)
    assert events[-1].type == "order.ready" and verify_chain(events) is None


# ---------------------------------------------------------------------------------------------
# Cancelling asks for a confirmation


def test_the_cancel_form_asks_for_a_tick(owner_client, order):
    page = owner_client.get(reverse("order_detail", args=[order.pk])).content.decode()

    assert "Yes, cancel this order" in page and 'name="confirm"' in page


def test_a_cancel_without_the_tick_is_refused_and_says_why(owner_client, order):
    response = owner_client.post(reverse("order_cancel", args=[order.pk]), {"reason": "Out of stock"}, follow=True)

    page = response.content.decode()
    assert "Tick “Yes, cancel this order” to cancel it. Nothing was cancelled." in page
    order.refresh_from_db()
    assert order.status == "created"


def test_a_cancel_with_the_tick_and_a_reason_cancels(owner_client, order):
    owner_client.post(reverse("order_cancel", args=[order.pk]), {"reason": "Out of stock", "confirm": "on"})

    order.refresh_from_db()
    assert order.status == "cancelled" and order.cancel_reason == "Out of stock"


def test_the_api_cancel_needs_only_its_reason(api, order):
    response = api.post(f"{url(order)}cancel/", {"reason": "Out of stock"}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
