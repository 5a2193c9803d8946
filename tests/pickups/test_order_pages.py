"""The portal's order pages: list, new order, detail, bulk actions, labels, tracking, dashboard."""

import zoneinfo
from datetime import datetime
from io import BytesIO

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from merchants.models import Merchant
from pickups.models import Order
from tests.factories import MembershipFactory, SiteFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, name="Desert Bloom")


def order_post(store, **overrides):
    data = {
        "store": store.pk,
        "external_id": "POS-501",
        "service_level": "same_day",
        "customer_name": "Jamie Rivera",
        "customer_phone": "480-555-0199",
        "customer_email": "",
        "address_line1": "100 N Arizona Ave",
        "address_line2": "",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85225",
        "latitude": "",
        "longitude": "",
        "notes": "Leave with the concierge.",
        "packages-TOTAL_FORMS": "2",
        "packages-INITIAL_FORMS": "0",
        "packages-MIN_NUM_FORMS": "1",
        "packages-MAX_NUM_FORMS": "20",
        "packages-0-weight_lb": "3",
        "packages-1-weight_lb": "1.5",
        "packages-1-length_in": "10",
        "packages-1-width_in": "8",
        "packages-1-height_in": "4",
    }
    return data | overrides


def test_a_new_order_from_the_form(owner_client, store):
    response = owner_client.post(reverse("order_create"), order_post(store))

    order = Order.objects.get()
    assert response.status_code == 302 and response.url == reverse("order_detail", args=[order.pk])
    assert order.packages.count() == 2 and order.notes == "Leave with the concierge."
    page = owner_client.get(response.url).content.decode()
    assert "POS-501" in page and order.tracking_code in page and "Order created" in page


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"postal_code": "89109", "city": "Las Vegas", "state": "NV"}, None, "this store delivers within 10 miles"),
        ({"packages-0-weight_lb": "60"}, "packages-0-weight_lb", "less than or equal to 50"),
        ({"packages-TOTAL_FORMS": "0"}, "packages", "Please submit at least 1 form"),
        ({"customer_name": ""}, "customer_name", "This field is required"),
        ({"postal_code": "00000"}, "postal_code", "know the ZIP code"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_saved(owner_client, store, changes, field, words):
    response = owner_client.post(reverse("order_create"), order_post(store, **changes))

    assert response.status_code == 200
    assert words in response.content.decode()
    if field and not field.startswith("packages"):
        assert response.context["form"].errors[field]
    assert not Order.objects.exists()


def test_an_added_package_row_left_empty_is_refused_not_dropped(owner_client, store):
    # given a second package row with nothing typed in it
    data = order_post(store, **{"packages-1-weight_lb": "", "packages-1-length_in": ""})
    data |= {"packages-1-width_in": "", "packages-1-height_in": ""}

    # when
    response = owner_client.post(reverse("order_create"), data)

    # then: an error on that row, listed at the top with a link to its field, and no order
    assert response.status_code == 200
    assert response.context["packages"].forms[1].errors["weight_lb"] == ["Give this package's weight, or remove it."]
    assert ("id_packages-1-weight_lb", "Package 2 weight (lb): Give this package's weight, or remove it.") in (
        response.context["problems"]
    )
    assert 'href="#id_packages-1-weight_lb"' in response.content.decode()
    assert not Order.objects.exists()


def test_the_only_store_is_chosen_and_required_fields_are_marked(owner_client, store):
    form = owner_client.get(reverse("order_create")).context["form"]

    assert form["store"].value() == store.pk
    html = str(form["customer_name"].label_tag())
    assert 'class="required"' in html
    assert 'class="required"' not in str(form["customer_email"].label_tag())


def test_with_two_stores_none_is_chosen_for_the_merchant(owner_client, store, merchant):
    StoreFactory(merchant=merchant, name="Desert Bloom Mesa")

    form = owner_client.get(reverse("order_create")).context["form"]

    assert form["store"].value() is None


def test_the_form_is_summarised_at_the_top_only_after_a_submit(owner_client, store):
    assert owner_client.get(reverse("order_create")).context["problems"] == []

    response = owner_client.post(reverse("order_create"), order_post(store, customer_name=""))

    assert response.context["problems"] == [("id_customer_name", "Customer name: This field is required.")]


def test_another_merchants_store_cannot_be_chosen(owner_client):
    response = owner_client.post(reverse("order_create"), order_post(StoreFactory()))

    assert "Select a valid choice" in str(response.context["form"].errors["store"])
    assert not Order.objects.exists()


def test_a_pending_merchant_cannot_create_orders(client):
    member = MembershipFactory(merchant__status=Merchant.Status.PENDING)
    client.force_login(member.user)

    page = client.get(reverse("order_create"), follow=True).content.decode()

    assert "waiting for approval" in page


def test_flag_ready_and_cancel_from_the_detail_page(owner_client, store):
    [order] = make_orders(store)

    owner_client.post(reverse("order_ready", args=[order.pk]))
    again = owner_client.post(reverse("order_ready", args=[order.pk]), follow=True)
    cancel = reverse("order_cancel", args=[order.pk])
    no_reason = owner_client.post(cancel, {"reason": "", "confirm": "on"}, follow=True)
    owner_client.post(cancel, {"reason": "Out of stock", "confirm": "on"})

    assert "cannot become ready for pickup" in again.content.decode()
    assert "Say why the order is cancelled" in no_reason.content.decode()
    order.refresh_from_db()
    assert order.status == "cancelled" and order.cancel_reason == "Out of stock"
    assert [e.type for e in order.events.all()] == ["order.created", "order.ready", "order.cancelled"]


def test_bulk_ready_moves_what_it_can_and_says_what_it_cannot(owner_client, store):
    first, second, done = make_orders(store, 3)
    owner_client.post(reverse("order_ready", args=[done.pk]))

    response = owner_client.post(
        reverse("orders_bulk"), {"action": "ready", "orders": [first.pk, second.pk, done.pk]}, follow=True
    )

    page = response.content.decode()
    assert "2 order(s) flagged ready" in page and f"Order {done.external_id} is ready for pickup" in page
    assert set(Order.objects.values_list("status", flat=True)) == {"ready"}


def test_bulk_labels_are_one_pdf_and_ignore_other_merchants_orders(owner_client, store):
    mine = make_orders(store, 2, packages=2)
    [theirs] = make_orders(StoreFactory())

    response = owner_client.post(
        reverse("orders_bulk"), {"action": "labels", "orders": [o.pk for o in mine] + [theirs.pk]}
    )

    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
    assert text.count("Package 1 of 2") == 2 and theirs.tracking_code not in text


def test_the_list_filters_and_searches(owner_client, store):
    make_orders(store, 2)
    [pat] = make_orders(store, customer_name="Pat Nguyen")

    page = owner_client.get(reverse("order_list"), {"search": "nguyen"}).content.decode()

    assert pat.external_id in page and page.count('name="orders"') == 1


@pytest.mark.parametrize("count", [5, 50])
def test_the_list_runs_a_constant_number_of_queries(owner_client, store, count, django_assert_num_queries):
    make_orders(store, count, packages=2)
    for _ in range(count // 5):  # more stores too: the store filter's choices must not cost a query each
        StoreFactory(merchant=store.merchant)

    # session, user, membership, count, orders with store and site, packages, store choices
    with django_assert_num_queries(7):
        response = owner_client.get(reverse("order_list"))

    assert len(response.context["page"]) == min(count, 25)


class TestTenancy:
    @pytest.mark.parametrize("name", ["order_detail", "order_labels"])
    def test_another_merchants_order_pages_are_404(self, owner_client, name):
        [theirs] = make_orders(StoreFactory())

        assert owner_client.get(reverse(name, args=[theirs.pk])).status_code == 404

    @pytest.mark.parametrize("name", ["order_ready", "order_cancel"])
    def test_another_merchants_order_cannot_be_moved(self, owner_client, name):
        [theirs] = make_orders(StoreFactory())

        assert owner_client.post(reverse(name, args=[theirs.pk]), {"reason": "x"}).status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == "created"

    def test_the_list_shows_only_my_orders(self, owner_client, store):
        [mine] = make_orders(store)
        [theirs] = make_orders(StoreFactory())

        page = owner_client.get(reverse("order_list")).content.decode()

        assert mine.external_id in page and theirs.tracking_code not in page

    @pytest.mark.parametrize("name", ["order_list", "order_create", "dashboard"])
    def test_anonymous_visitors_go_to_login(self, client, name):
        response = client.get(reverse(name))

        assert response.status_code == 302 and response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("name", ["order_detail", "order_labels", "order_ready"])
    def test_anonymous_order_pages_go_to_login(self, client, name):
        [order] = make_orders(StoreFactory())

        response = client.get(reverse(name, args=[order.pk]))

        assert response.status_code in (302, 405)
        if response.status_code == 302:
            assert response.url.startswith(reverse("login"))


def test_the_timeline_is_in_the_stores_local_time(owner_client, merchant):
    store = StoreFactory(merchant=merchant, site=SiteFactory(timezone="America/New_York"))
    with time_machine.travel(datetime(2026, 11, 26, 15, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))):
        [order] = make_orders(store, latitude=store.site.latitude, longitude=store.site.longitude)

    page = owner_client.get(reverse("order_detail", args=[order.pk])).content.decode()

    assert "10:30 AM EST" in page


def test_the_public_tracking_page_hides_personal_data(client, store):
    [order] = make_orders(store, customer_name="Jamie Rivera", customer_phone="480-555-0142")

    page = client.get(reverse("tracking", args=[order.tracking_code])).content.decode()

    assert "Hello Jamie" in page and "Desert Bloom" in page and "Order placed" in page
    for secret in ("Rivera", "480-555-0142", "jamie@example.com", "100 N Arizona"):
        assert secret not in page
    assert client.get(reverse("tracking", args=["NOPE"])).status_code == 404


class TestDashboard:
    def test_counts_orders_of_the_local_day_at_each_store(self, owner_client, merchant):
        phoenix = StoreFactory(merchant=merchant, site=SiteFactory(timezone="America/Phoenix"))
        tysons = StoreFactory(merchant=merchant, site=SiteFactory(timezone="America/New_York"))
        utc = zoneinfo.ZoneInfo("UTC")
        # 06:30 UTC on Nov 26 is 23:30 on Nov 25 in Phoenix but 01:30 on Nov 26 in Tysons
        with time_machine.travel(datetime(2026, 11, 26, 6, 30, tzinfo=utc)):
            make_orders(phoenix, latitude=phoenix.site.latitude, longitude=phoenix.site.longitude)
            make_orders(tysons, latitude=tysons.site.latitude, longitude=tysons.site.longitude)

        with time_machine.travel(datetime(2026, 11, 26, 18, 0, tzinfo=utc)):
            today = dict((s, c) for s, _, c in owner_client.get(reverse("dashboard")).context["today"])

        assert today["created"] == 1  # only the Tysons order was made on Nov 26, local time

    @pytest.mark.parametrize("count", [2, 20])
    def test_it_runs_a_constant_number_of_queries(self, owner_client, merchant, count, django_assert_num_queries):
        for store in StoreFactory.create_batch(count, merchant=merchant, site=SiteFactory()):
            make_orders(store, 2)

        # session, user, membership, stores, hours, closures, today's counts, to-dos, pickups, left behind,
        # the figures' orders and moves (tests/pickups/test_dashboard.py has the rest)
        with django_assert_num_queries(12):
            response = owner_client.get(reverse("dashboard"))

        assert response.context["waiting"] == 2 * count
