"""The custody chain: every ledger event sealed to the one before it, checked by a command and the admin,
and the record as PDF and CSV for the merchant, the API and the admin."""

import csv
import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader
from rest_framework.test import APIClient

from common.actors import SYSTEM, Actor
from deliveries.services import offer_accept, window_offer_wave
from merchants.services import api_key_create
from pickups import services
from pickups.custody import custody_csv, custody_pdf, event_digest, verify_chain
from pickups.ledger import events_append, order_event, order_transition, orders_note, orders_transition
from pickups.models import Order, OrderEvent
from pickups.windows import orders_assign
from tests.factories import MembershipFactory, StoreFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db

Status = Order.Status


def chain(order) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order).order_by("id"))


def raw(sql, *params):
    """Change the ledger behind the application's back, as someone with database access could."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def tamper(event, details: dict):
    raw("UPDATE pickups_orderevent SET details = %s WHERE id = %s", json.dumps(details), event.pk)


def text_of(pdf: bytes) -> str:
    """The PDF's text with every run of spaces and line breaks as one space (table cells wrap)."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, name="Desert Bloom", site__name="Chandler Fashion Center")


@pytest.fixture
def moved(store, owner):
    """An order created, made ready and cancelled through the services."""
    [order] = make_orders(store)
    services.order_mark_ready(order=order, actor=Actor.of_user(owner))
    services.order_cancel(order=order, actor=Actor.of_user(owner), reason="The customer changed their mind")
    return order


class TestChain:
    def test_a_ledger_written_by_the_services_verifies(self, window, driver, store, django_capture_on_commit_callbacks):
        # given: the window's order created, ready and scheduled (tests/conftest.py); a driver assigned
        # to it by a note (written after the accept commits); and orders of another store made ready in
        # bulk, one then cancelled
        [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            offer_accept(offer=offer, driver=driver)
        others = make_orders(store, 3)
        services.orders_mark_ready(orders=others, actor=SYSTEM)
        services.order_cancel(order=others[0], actor=SYSTEM, reason="Out of stock")

        # then every chain links each event to the one before it and holds
        scheduled = window.orders.get()
        assert [e.type for e in chain(scheduled)] == [
            "order.created",
            "order.ready",
            "order.scheduled",
            "order.driver_assigned",
        ]
        for order in [scheduled, *others]:
            events = chain(order)
            assert [e.prev_hash for e in events] == ["", *(e.hash for e in events[:-1])]
            assert all(len(e.hash) == 64 and e.hash == event_digest(e, e.prev_hash) for e in events)
            assert verify_chain(events) is None
        assert len(chain(others[0])) == 3

    def test_an_event_changed_with_raw_sql_is_found(self, moved):
        _, ready, _ = chain(moved)

        tamper(ready, {"reason": "backdated"})

        assert verify_chain(chain(moved)) == ready.pk
        assert verify_chain(reversed(chain(moved))) == ready.pk  # taken in id order whatever the order given

    def test_an_event_changed_and_resealed_breaks_the_next_link(self, moved):
        _, ready, cancelled = chain(moved)
        ready.details = {"reason": "backdated"}

        raw(
            "UPDATE pickups_orderevent SET details = %s, hash = %s WHERE id = %s",
            json.dumps(ready.details),
            event_digest(ready, ready.prev_hash),
            ready.pk,
        )

        assert verify_chain(chain(moved)) == cancelled.pk

    def test_an_event_deleted_with_raw_sql_breaks_the_next_link(self, moved):
        _, ready, cancelled = chain(moved)

        raw("DELETE FROM pickups_orderevent WHERE id = %s", ready.pk)

        assert verify_chain(chain(moved)) == cancelled.pk

    def test_the_first_event_deleted_is_found_too(self, moved):
        created, ready, _ = chain(moved)

        raw("DELETE FROM pickups_orderevent WHERE id = %s", created.pk)

        assert verify_chain(chain(moved)) == ready.pk

    def test_no_code_path_changes_or_deletes_an_event(self, moved):
        event = chain(moved)[0]

        for attempt in (
            lambda: OrderEvent.objects.filter(order=moved).update(details={}),
            lambda: OrderEvent.objects.filter(order=moved).delete(),
            lambda: event.save(),
            lambda: event.delete(),
        ):
            with pytest.raises(ValidationError, match="append-only"):
                attempt()
        assert verify_chain(chain(moved)) is None

    def test_a_place_is_sealed_as_the_database_keeps_it(self, store):
        # a float with more decimals than the columns keep: rounded before sealing, so it reads back the same
        [order] = make_orders(store)
        orders_note(
            orders=[order], type="order.driver_arrived", actor=SYSTEM, at=timezone.now(), details={},
            location=(33.30670049, -111.8970004),
        )  # fmt: skip

        arrived = chain(order)[-1]
        assert (arrived.latitude, arrived.longitude) == (Decimal("33.306700"), Decimal("-111.897000"))
        assert verify_chain(chain(order)) is None

    def test_a_deleted_login_leaves_the_chain_intact(self, store):
        # the schema clears the actor of a deleted login (SET_NULL): that is not tampering
        staff = MembershipFactory(merchant=store.merchant, role="staff").user
        [order] = make_orders(store)
        services.order_mark_ready(order=order, actor=Actor.of_user(staff))

        get_user_model().objects.filter(pk=staff.pk).delete()

        assert chain(order)[-1].actor_id is None and chain(order)[-1].actor_label
        assert verify_chain(chain(order)) is None

    @pytest.mark.parametrize("count", [2, 25])
    def test_appending_to_many_orders_runs_a_fixed_number_of_queries(self, store, count, django_assert_num_queries):
        orders = make_orders(store, count)

        # savepoint, lock the orders (and whether their merchants have webhook endpoints), one UPDATE (on
        # PostgreSQL returning the last seals), the last seals elsewhere, one INSERT, release
        with django_assert_num_queries(5 if connection.vendor == "postgresql" else 6):
            moved, _ = orders_transition(orders=orders, to=Status.READY, actor=SYSTEM)

        assert len(moved) == count
        assert all(verify_chain(chain(order)) is None for order in orders)

    def test_events_of_orders_whose_heads_the_caller_did_not_read_are_looked_up(self, store):
        first, second = make_orders(store, 2)
        head_of_first = chain(first)[-1].hash

        events_append(
            [
                order_event(order, "order.note", SYSTEM, timezone.now(), "created", "created", {})
                for order in (first, second)
            ],
            heads={first.pk: head_of_first},  # second is not known: its head is read
        )

        assert chain(second)[-1].prev_hash == chain(second)[-2].hash
        assert all(verify_chain(chain(order)) is None for order in (first, second))

    def test_existing_events_are_chained_by_the_migration(self, moved, store):
        # given events written before the chain existed (no seals) ...
        others = make_orders(store, 2)
        sealed = {event.pk: event.hash for event in OrderEvent.objects.all()}
        raw(
            "UPDATE pickups_orderevent SET hash = '', prev_hash = 'unsealed-' || id"
        )  # distinct, as the constraint wants
        assert verify_chain(chain(moved)) is not None

        # ... the migration seals them, per order in id order, as the application would have
        from importlib import import_module

        migration = import_module("pickups.migrations.0009_order_event_hash_chain")
        # the original migrations, not the squash that new databases get
        loader = MigrationLoader(connection, replace_migrations=False)
        state = loader.project_state(("pickups", "0009_order_event_hash_chain"))
        migration.chain_existing_events(state.apps, None)

        assert {event.pk: event.hash for event in OrderEvent.objects.all()} == sealed
        assert all(verify_chain(chain(order)) is None for order in [moved, *others])


class TestVerifyLedger:
    def test_intact_chains_are_said_so(self, moved, store):
        make_orders(store, 2)
        out = io.StringIO()

        call_command("verify_ledger", "--chunk-size", "2", stdout=out)

        assert out.getvalue().strip() == "3 orders, 5 events: every chain intact"

    def test_a_broken_chain_is_named_and_the_command_fails(self, moved, store):
        make_orders(store, 3)
        ready = chain(moved)[1]
        tamper(ready, {"reason": "backdated"})
        out = io.StringIO()

        with pytest.raises(CommandError, match="1 of 4 orders has a broken custody chain") as failed:
            call_command("verify_ledger", "--chunk-size", "2", stdout=out)

        assert failed.value.returncode == 1  # manage.py exits with it
        when = f"{ready.occurred_at:%Y-%m-%d %H:%M:%S} UTC"
        assert out.getvalue().strip() == (
            f"order {moved.external_id} ({moved.pk}): first broken link at event {ready.pk} (order.ready, {when})"
        )

    def test_the_admin_action_checks_the_selected_orders(self, moved, store, admin_client):
        [other] = make_orders(store)
        ready = chain(moved)[1]
        url = reverse("admin:pickups_order_changelist")
        verify = {"action": "verify_ledger", "_selected_action": [moved.pk, other.pk]}

        response = admin_client.post(url, verify, follow=True)
        assert [str(m) for m in response.context["messages"]] == ["2 orders, 4 events: every chain intact"]

        tamper(ready, {"reason": "backdated"})
        response = admin_client.post(url, verify, follow=True)

        [message] = response.context["messages"]
        assert message.level_tag == "error"
        assert f"order {moved.external_id} ({moved.pk}): first broken link at event {ready.pk} (order.ready" in str(
            message
        )


def photo_in_storage() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(buffer, "JPEG")
    return default_storage.save("proof/door.jpg", ContentFile(buffer.getvalue()))


@pytest.fixture
def delivered(monday_morning, store):
    """An order that went all the way, left at the door with a photo, at 10:00 in Chandler (MST)."""
    [order] = make_orders(store, number="WEB-7734")
    for to in (Status.READY, Status.SCHEDULED, Status.PICKED_UP):
        order_transition(order=order, to=to, actor=SYSTEM)
    driver = Actor(user=None, label="Dee (driver)")
    details = {"left_at": "front_door", "recipient_name": "", "photo": photo_in_storage(), "attempt": 1}
    order_transition(
        order=order, to=Status.DELIVERED, actor=driver, details=details, location=(Decimal("33.3067"), "-111.897")
    )
    return Order.objects.select_related("store__site").get(pk=order.pk)


class TestDocuments:
    def test_the_pdf_tells_who_had_the_parcel_when_and_where(self, delivered):
        pdf = custody_pdf(delivered)

        text = text_of(pdf)
        assert "Custody record: order WEB-7734" in text
        assert delivered.tracking_code in text and "Desert Bloom, Chandler Fashion Center" in text
        for event in chain(delivered):
            assert event.title in text
            assert event.hash[:12] in text
        assert "2027-01-04 10:00:00 MST" in text  # the store's local time, with its zone
        assert "Picked up → Delivered" in text and "Dee (driver)" in text
        assert "33.306700, -111.897000" in text and "Left at the front door" in text
        assert "Chain of custody intact: each of the 5 events" in text
        assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 1  # the photo's thumbnail

    def test_the_pdf_says_where_the_chain_breaks(self, delivered):
        picked_up = chain(delivered)[3]
        tamper(picked_up, {"by": "someone else"})

        text = text_of(custody_pdf(delivered))

        assert f"Chain of custody BROKEN at event {picked_up.pk} (Picked up by the driver, 2027-01-04" in text

    def test_a_missing_photo_does_not_stop_the_record(self, delivered):
        default_storage.delete(chain(delivered)[-1].details["photo"])

        assert "the delivery photo could not be read" in text_of(custody_pdf(delivered))

    def test_the_csv_has_a_line_per_event_with_full_seals_and_no_formulas(self, store):
        [order] = make_orders(store)
        services.order_mark_ready(order=order, actor=Actor(user=None, label='=HYPERLINK("http://evil.example")'))

        rows = list(csv.DictReader(io.StringIO(custody_csv(order))))

        events = chain(order)
        assert [row["event_id"] for row in rows] == [str(event.pk) for event in events]
        assert [row["event"] for row in rows] == ["Order created", "Ready for pickup"]
        assert [(row["prev_hash"], row["hash"]) for row in rows] == [(e.prev_hash, e.hash) for e in events]
        assert rows[1]["by"] == '\'=HYPERLINK("http://evil.example")'
        assert rows[0]["details"] == '{"packages":1}' and rows[0]["time"].endswith(" MST")


class TestPortal:
    def test_the_merchant_gets_both_files_linked_from_the_order(self, owner_client, moved):
        page = owner_client.get(reverse("order_detail", args=[moved.pk])).content.decode()
        pdf_url, csv_url = (reverse(name, args=[moved.pk]) for name in ("order_custody_pdf", "order_custody_csv"))
        assert pdf_url in page and csv_url in page

        pdf, table = owner_client.get(pdf_url), owner_client.get(csv_url)

        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert moved.external_id in text_of(pdf.content)
        assert table.status_code == 200 and table["Content-Type"].startswith("text/csv")
        assert f'filename="custody-{moved.tracking_code}.csv"' in table["Content-Disposition"]
        assert len(list(csv.reader(io.StringIO(table.content.decode())))) == 1 + 3

    @pytest.mark.parametrize("name", ["order_custody_pdf", "order_custody_csv"])
    def test_another_merchants_order_is_404(self, client, moved, name):
        client.force_login(MembershipFactory().user)

        assert client.get(reverse(name, args=[moved.pk])).status_code == 404

    @pytest.mark.parametrize("name", ["order_custody_pdf", "order_custody_csv"])
    def test_anonymous_visitors_are_sent_to_log_in(self, client, moved, name):
        response = client.get(reverse(name, args=[moved.pk]))

        assert response.status_code == 302 and "/login/" in response["Location"]


class TestApi:
    @pytest.fixture
    def api(self, merchant):
        _, key = api_key_create(merchant=merchant, name="Disputes", created_by=None)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    def test_the_pdf_by_default(self, api, moved):
        response = api.get(f"/api/v1/orders/{moved.pk}/custody/")

        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert "Chain of custody intact" in text_of(response.content)

    @pytest.mark.parametrize("ask", [{"format": "csv"}, {"HTTP_ACCEPT": "text/csv"}])
    def test_the_csv_on_request(self, api, moved, ask):
        query = {"format": ask["format"]} if "format" in ask else {}
        headers = {key: value for key, value in ask.items() if key != "format"}

        response = api.get(f"/api/v1/orders/{moved.pk}/custody/", query, **headers)

        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert len(list(csv.reader(io.StringIO(response.content.decode())))) == 1 + 3

    @pytest.mark.parametrize("query", [{}, {"format": "csv"}])
    def test_another_merchants_order_is_404_in_json(self, moved, query):
        _, key = api_key_create(merchant=MembershipFactory().merchant, name="Other", created_by=None)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

        response = client.get(f"/api/v1/orders/{moved.pk}/custody/", query)

        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert "detail" in response.json()

    def test_anonymous_callers_get_401(self, moved):
        assert APIClient().get(f"/api/v1/orders/{moved.pk}/custody/").status_code == 401

    def test_an_unknown_format_is_404(self, api, moved):
        assert api.get(f"/api/v1/orders/{moved.pk}/custody/", {"format": "xlsx"}).status_code == 404


class TestWindowZip:
    def test_one_record_per_order_that_was_in_the_windows(self, window, admin_client):
        # given: the window's order, and a second one booked into it then cancelled (it left the window)
        [booked] = window.orders.all()
        store = booked.store
        [gone] = make_orders(store)
        orders_transition(orders=[gone], to=Status.READY, actor=SYSTEM)
        orders_assign(order_ids=[gone.pk], now=timezone.now() - timedelta(hours=1))
        assert window.orders.count() == 2
        services.order_cancel(order=Order.objects.get(pk=gone.pk), actor=SYSTEM, reason="Out of stock")
        make_orders(store)  # never in a window

        response = admin_client.post(
            reverse("admin:pickups_pickupwindow_changelist"),
            {"action": "download_custody_records", "_selected_action": [window.pk]},
        )

        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        names = sorted(archive.namelist())
        assert names == sorted(f"custody-{order.external_id}-{order.tracking_code}.pdf" for order in (booked, gone))
        for order in (booked, gone):
            pdf = archive.read(f"custody-{order.external_id}-{order.tracking_code}.pdf")
            assert f"Custody record: order {order.external_id}" in text_of(pdf)

    def test_windows_without_orders_say_so(self, admin_client):
        empty = WindowFactory()

        response = admin_client.post(
            reverse("admin:pickups_pickupwindow_changelist"),
            {"action": "download_custody_records", "_selected_action": [empty.pk]},
            follow=True,
        )

        assert [str(m) for m in response.context["messages"]] == ["No order was ever in the selected windows."]
