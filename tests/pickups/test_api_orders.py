"""The orders API: intake with the program's rules, idempotent retries, state moves, tenancy."""

import base64
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from common.actors import SYSTEM
from common.pagination import NewestFirstCursor
from merchants.models import Merchant
from merchants.services import api_key_create, api_key_revoke
from pickups.models import Order, OrderEvent
from tests.factories import MembershipFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db


def new_order(store, **overrides):
    body = {
        "store": store.pk,
        "external_id": "WEB-1001",
        "service_level": "same_day",
        "customer_name": "Jamie Rivera",
        "customer_phone": "480-555-0199",
        "customer_email": "jamie@example.com",
        "address_line1": "100 N Arizona Ave",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85225",
        "packages": [{"weight_lb": "2.5"}, {"weight_lb": "4", "length_in": "12", "width_in": "8", "height_in": "6"}],
    }
    return body | overrides


ORDERS = "/api/v1/orders/"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_an_order_created_by_api_key_gets_codes_and_a_first_ledger_entry(api, store):
    response = api.post(ORDERS, new_order(store), format="json")

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["status"] == "created"
    assert len(body["tracking_code"]) >= 10
    assert [p["label_code"] for p in body["packages"]] == [body["tracking_code"] + "01", body["tracking_code"] + "02"]
    assert body["store"]["name"] == store.name
    assert Decimal(body["distance_miles"]) < 10
    events = api.get(f"{ORDERS}{body['id']}/events/").json()
    assert [(e["type"], e["to_status"]) for e in events] == [("order.created", "created")]
    assert events[0]["actor"] == "API key “Checkout” (" + events[0]["actor"].split("(")[1]


def test_a_logged_in_merchant_can_use_the_api_with_its_session(owner, store):
    client = APIClient()
    client.force_login(owner)

    response = client.post(ORDERS, new_order(store), format="json")

    assert response.status_code == 201
    assert OrderEvent.objects.get().actor == owner


def test_an_address_outside_the_radius_is_refused_with_the_distance(api, store):
    # Las Vegas is about 250 miles from Chandler
    response = api.post(ORDERS, new_order(store, city="Las Vegas", state="NV", postal_code="89109"), format="json")

    assert response.status_code == 400
    [message] = response.json()["delivery_address"]
    assert "miles from" in message and "within 10 miles" in message
    assert float(message.split(" miles")[0].split()[-1]) > 200
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"packages": [{"weight_lb": "51"}]}, "packages", "up to 50 lb"),
        ({"packages": [{"weight_lb": "1"}] * 21}, "packages", "1 to 20 packages"),
        ({"packages": []}, "packages", "1 to 20 packages"),
        ({"postal_code": "8522"}, "postal_code", "5-digit ZIP"),
        ({"postal_code": "00000"}, "postal_code", "We don't know the ZIP code"),
        ({"service_level": "overnight"}, "service_level", "not a valid choice"),
        ({"customer_name": ""}, "customer_name", "may not be blank"),
        ({"customer_email": "not-an-email"}, "customer_email", "valid email"),
        ({"latitude": "33.3"}, "longitude", "both coordinates"),
        ({"latitude": "95", "longitude": "0"}, "latitude", "less than or equal to 90"),
        ({"packages": [{"weight_lb": "heavy"}]}, "packages", "valid number"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, store, changes, field, words):
    response = api.post(ORDERS, new_order(store, **changes), format="json")

    assert response.status_code == 400
    assert words in str(response.json()[field]), response.json()
    assert not Order.objects.exists()


def test_missing_fields_are_all_named(api):
    response = api.post(ORDERS, {}, format="json")

    assert response.status_code == 400
    assert {"store", "external_id", "customer_name", "address_line1", "postal_code", "packages"} <= set(response.json())


def test_a_broken_json_body_is_a_400_not_a_500(api):
    response = api.generic("POST", ORDERS, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_an_order_number_used_before_is_refused(api, store):
    api.post(ORDERS, new_order(store), format="json")

    response = api.post(ORDERS, new_order(store), format="json")

    assert response.status_code == 400
    assert "already have an order numbered" in response.json()["external_id"][0]


def test_another_merchants_store_is_refused(api):
    response = api.post(ORDERS, new_order(StoreFactory()), format="json")

    assert response.status_code == 400
    assert response.json()["store"] == ["There is no such store in your account."]


@pytest.mark.parametrize("status", [Merchant.Status.PENDING, Merchant.Status.SUSPENDED])
def test_a_merchant_not_approved_gets_403_with_the_reason(status):
    member = MembershipFactory(merchant__status=status, merchant__status_reason="Unpaid invoices")
    client = APIClient()
    client.force_login(member.user)

    response = client.post(ORDERS, new_order(StoreFactory(merchant=member.merchant)), format="json")

    assert response.status_code == 403
    assert "cannot add stores or orders" in response.json()["detail"]


class TestIdempotency:
    def test_a_replay_returns_the_first_response_and_creates_nothing(self, api, store):
        first = api.post(ORDERS, new_order(store), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        again = api.post(ORDERS, new_order(store), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert Order.objects.count() == 1

    def test_the_same_key_with_another_body_is_422(self, api, store):
        api.post(ORDERS, new_order(store), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        response = api.post(ORDERS, new_order(store, external_id="WEB-2"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        assert response.status_code == 422
        assert Order.objects.count() == 1

    def test_a_failed_request_leaves_the_key_free(self, api, store):
        refused = api.post(ORDERS, new_order(store, postal_code="1"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        fixed = api.post(ORDERS, new_order(store, postal_code="1"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert refused.status_code == fixed.status_code == 400

        response = api.post(ORDERS, new_order(store), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert response.status_code == 201

    def test_keys_are_scoped_per_merchant(self, api, store):
        other = MembershipFactory()
        other_client = APIClient()
        other_client.force_login(other.user)

        api.post(ORDERS, new_order(store), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        response = other_client.post(
            ORDERS,
            new_order(StoreFactory(merchant=other.merchant)),
            format="json",
            HTTP_IDEMPOTENCY_KEY="k-1",
        )

        assert response.status_code == 201
        assert Order.objects.count() == 2


class TestStateMoves:
    def test_ready_then_ready_again_is_409(self, api, store):
        [order] = make_orders(store)

        first = api.post(f"{ORDERS}{order.pk}/ready/")
        again = api.post(f"{ORDERS}{order.pk}/ready/")

        assert first.status_code == 200 and first.json()["status"] == "ready"
        assert again.status_code == 409
        assert "is ready for pickup, so it cannot become ready for pickup" in again.json()["detail"]

    def test_cancel_needs_a_reason_and_then_blocks_further_moves(self, api, store):
        [order] = make_orders(store)

        assert api.post(f"{ORDERS}{order.pk}/cancel/", {}, format="json").status_code == 400
        cancelled = api.post(f"{ORDERS}{order.pk}/cancel/", {"reason": "Customer changed mind"}, format="json")
        ready = api.post(f"{ORDERS}{order.pk}/ready/")

        assert (
            cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "Customer changed mind"
        )
        assert ready.status_code == 409
        events = api.get(f"{ORDERS}{order.pk}/events/").json()
        assert [e["type"] for e in events] == ["order.created", "order.cancelled"]
        assert events[1]["details"] == {"reason": "Customer changed mind"}


class TestTenancy:
    @pytest.mark.parametrize(
        ("method", "suffix"),
        [
            *(("get", ""), ("patch", ""), ("post", "ready/"), ("post", "cancel/"), ("post", "collected/")),
            *(("get", "events/"), ("get", "label/")),
        ],
    )
    def test_another_merchants_order_is_404_everywhere(self, api, method, suffix):
        [theirs] = make_orders(StoreFactory())

        body = {"reason": "mine", "notes": "mine"}
        response = getattr(api, method)(f"{ORDERS}{theirs.pk}/{suffix}", body, format="json")

        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == "created"

    def test_lists_show_only_the_callers_rows(self, api, store):
        make_orders(store, 2)
        [theirs] = make_orders(StoreFactory(), 1)

        assert len(api.get(ORDERS).json()["results"]) == 2
        response = api.get(ORDERS, {"store": theirs.store_id})
        assert response.status_code == 400 and "valid choice" in str(response.json()["store"])
        assert [s["id"] for s in api.get("/api/v1/stores/").json()["results"]] == [store.pk]

    @pytest.mark.parametrize("path", [ORDERS, "/api/v1/stores/", f"{ORDERS}1/", f"{ORDERS}1/events/"])
    def test_anonymous_callers_get_401(self, path):
        response = APIClient().get(path)

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"

    def test_an_unknown_or_revoked_key_is_401(self, merchant):
        api_key, raw = api_key_create(merchant=merchant, name="Old", created_by=None)
        api_key_revoke(api_key=api_key)
        client = APIClient()

        for key in (raw, "mpk_made-up"):
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            assert client.get(ORDERS).status_code == 401

    def test_a_login_that_is_not_a_merchant_gets_403(self, client):
        user = MembershipFactory().user
        user.membership.delete()
        api = APIClient()
        api.force_login(user)

        assert api.get(ORDERS).status_code == 403


class TestList:
    @pytest.mark.parametrize("count", [5, 50])
    def test_the_list_runs_a_constant_number_of_queries(self, api, store, count, django_assert_num_queries):
        make_orders(store, count, packages=2)

        # the key, the page's ids (an index range), those orders with store, site and window, their packages:
        # no count
        with django_assert_num_queries(4):
            response = api.get(ORDERS, {"page_size": 100})

        assert response.status_code == 200
        assert len(response.json()["results"]) == count

    def test_an_empty_list_reads_no_orders(self, api, store, django_assert_num_queries):
        with django_assert_num_queries(2):  # the key, the page's ids: none
            response = api.get(ORDERS)

        assert response.json() == {"next": None, "previous": None, "results": []}

    def test_pages_follow_next_and_previous_newest_first(self, api, store):
        orders = make_orders(store, 5)
        newest_first = [order.pk for order in reversed(orders)]

        pages, url = [], f"{ORDERS}?page_size=2"
        while url:
            page = api.get(url).json()
            pages.append([order["id"] for order in page["results"]])
            url = page["next"]
        assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]

        back, url = [], page["previous"]
        while url:
            page = api.get(url).json()
            back.append([order["id"] for order in page["results"]])
            url = page["previous"]
        assert back == [newest_first[2:4], newest_first[:2]]
        assert page["next"] and "page_size=2" in page["next"]

    def test_orders_created_at_the_same_moment_are_paged_by_id_and_new_ones_shift_nothing(self, api, store):
        with time_machine.travel(datetime(2026, 1, 5, 18, 0, tzinfo=UTC), tick=False):  # in the past
            orders = make_orders(store, 4)
        first = api.get(ORDERS, {"page_size": 2}).json()

        make_orders(store, 2)  # newer: they come before the first page, not into the next
        second = api.get(first["next"]).json()

        assert [o["id"] for o in first["results"] + second["results"]] == [o.pk for o in reversed(orders)]
        assert second["next"] is None

    def test_filters_stay_in_the_links(self, api, store):
        created = make_orders(store, 3)
        api.post(f"{ORDERS}{created[0].pk}/ready/")

        page = api.get(ORDERS, {"status": "created", "page_size": 1}).json()
        rest = api.get(page["next"]).json()

        assert [o["id"] for o in page["results"] + rest["results"]] == [created[2].pk, created[1].pk]
        assert "status=created" in page["next"] and rest["next"] is None

    @pytest.mark.parametrize(
        "cursor",
        [
            *("abc", "!!", "", b64("n|soon|5"), b64("n|a|b|c")),
            b64("n|2027-01-04T18:00:00|5"),  # no time zone
            b64("x|2027-01-04T18:00:00+00:00|5"),
            *(b64(f"n|2027-01-04T18:00:00+00:00|{pk}") for pk in (0, 2**64)),
            b64("n|0001-01-01T00:00:00+05:00|5"),  # before year 1 in UTC
        ],
    )
    def test_a_cursor_not_from_a_link_is_a_400_naming_it(self, api, store, cursor):
        response = api.get(ORDERS, {"cursor": cursor})

        assert response.status_code == 400
        assert response.json()["cursor"] == [NewestFirstCursor.invalid_cursor]

    @pytest.mark.parametrize("size", ["0", "-1", "two", "1.5", ""])
    def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400(self, api, size):
        response = api.get(ORDERS, {"page_size": size})

        assert response.status_code == 400 and response.json() == {"page_size": ["Enter a whole number from 1."]}

    def test_a_deep_page_runs_the_same_queries(self, api, store, django_assert_num_queries):
        make_orders(store, 30)
        page = api.get(ORDERS, {"page_size": 5}).json()
        for _ in range(4):
            page = api.get(page["next"]).json()

        with django_assert_num_queries(4):  # the key, the page's ids (an index range), its orders, their packages
            last = api.get(page["next"]).json()
        assert len(last["results"]) == 5 and last["next"] is None and last["previous"]

    def test_filters_and_search(self, api, store):
        other_store = StoreFactory(merchant=store.merchant, site=store.site)
        ready, created = make_orders(store, 2)
        api.post(f"{ORDERS}{ready.pk}/ready/")
        [two_day] = make_orders(other_store, service_level="two_day", customer_name="Pat Nguyen")

        def ids(**params):
            return sorted(o["id"] for o in api.get(ORDERS, params).json()["results"])

        assert ids(status="ready") == [ready.pk]
        assert ids(status=["ready", "created"]) == sorted([ready.pk, created.pk, two_day.pk])
        assert ids(store=other_store.pk) == [two_day.pk]
        assert ids(service_level="two_day") == [two_day.pk]
        assert ids(search="nguyen") == [two_day.pk]
        assert ids(search=created.tracking_code.lower()) == [created.pk]
        assert ids(search=ready.external_id) == [ready.pk]
        today = timezone.localtime(ready.created_at, ZoneInfo(store.site.timezone)).date().isoformat()  # store's day
        assert len(ids(created_after=today, created_before=today)) == 3
        assert ids(created_before="2000-01-01") == []
        assert api.get(ORDERS, {"created_after": "yesterday"}).status_code == 400
        assert api.get(ORDERS, {"status": "lost"}).status_code == 400
        # no filter asked (common.filtering skips the form), or only a parameter that is none: every order
        assert ids() == ids(colour="red") == sorted([ready.pk, created.pk, two_day.pk])


def test_the_ledger_is_append_only(store):
    [order] = make_orders(store)
    event = order.events.get()

    with pytest.raises(Exception, match="append-only"):
        event.save()
    with pytest.raises(Exception, match="append-only"):
        event.delete()
    with pytest.raises(Exception, match="append-only"):
        OrderEvent.objects.filter(order=order).update(type="edited")
    with pytest.raises(Exception, match="append-only"):
        OrderEvent.objects.filter(order=order).delete()
    assert order.events.get().type == "order.created"


def test_bulk_creation_runs_a_fixed_number_of_queries(store, django_assert_num_queries):
    from pickups.services import orders_create
    from tests.factories import order_draft

    drafts = [order_draft(store, packages=3) for _ in range(30)]  # within one SQLite insert batch
    # stores (with whether the merchant has webhook endpoints), savepoint, orders, packages, events, release
    # (numbers in use are left to the unique constraint)
    with django_assert_num_queries(6):
        orders_create(merchant=store.merchant, drafts=drafts, actor=SYSTEM)
    assert Order.objects.count() == 30


def test_the_api_is_documented(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()

    assert {"/api/v1/orders/", "/api/v1/orders/{id}/ready/", "/api/v1/track/{tracking_code}/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    ("packages", "words"),
    [
        ([{"weight_lb": "2", "length_in": "10"}], "give length, width and height"),
        ([{"weight_lb": "2", "length_in": "-5", "width_in": "5", "height_in": "5"}], "more than 0 and at most 48"),
        ([{"weight_lb": "2", "length_in": "60", "width_in": "5", "height_in": "5"}], "more than 0 and at most 48"),
    ],
)
def test_package_sizes_are_checked(api, store, packages, words):
    response = api.post(ORDERS, new_order(store, packages=packages), format="json")

    assert response.status_code == 400 and words in str(response.json()["packages"])


@pytest.mark.parametrize("field", ["store", "quote"])
def test_absurd_ids_are_a_400_not_a_500(api, store, field):
    response = api.post(ORDERS, new_order(store) | {field: 10**20}, format="json")

    assert response.status_code == 400 and field in response.json()


def test_bulk_actions_ignore_ids_that_are_not_numbers(owner_client, store):
    [order] = make_orders(store)

    response = owner_client.post("/orders/bulk/", {"action": "ready", "orders": ["abc", str(order.pk), "9" * 30]})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "ready"


def test_created_dates_are_the_stores_local_days(api, store):
    import zoneinfo
    from datetime import datetime

    import time_machine

    # 18:00 on Monday Jan 4 in Chandler is 01:00 on Tuesday Jan 5 in UTC
    with time_machine.travel(datetime(2027, 1, 4, 18, 0, tzinfo=zoneinfo.ZoneInfo("America/Phoenix"))):
        [order] = make_orders(store)

    def ids(**params):
        return [o["id"] for o in api.get(ORDERS, params).json()["results"]]

    assert ids(created_after="2027-01-04", created_before="2027-01-04") == [order.pk]
    assert ids(created_after="2027-01-05") == []
