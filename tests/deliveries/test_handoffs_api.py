"""Handoffs on the road by API: delivered with proof, failed, returned over the counter, sent out again."""

import hashlib
import struct
import zlib
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from common.actors import SYSTEM
from deliveries.handoffs import returns_overdue
from deliveries.services import offer_accept, window_offer_wave
from merchants.handoff_codes import store_code
from pickups.ledger import order_transition
from pickups.models import Order
from pickups.visits import window_arrive
from tests.deliveries.conftest import api_for, collect
from tests.factories import DriverFactory, MembershipFactory, UserFactory, WindowFactory

pytestmark = pytest.mark.django_db


def labels_of(order):
    return [package.label_code for package in order.packages.all()]


@pytest.fixture
def in_care(on_site, driver):
    """The window's order, collected by the driver: picked up and in their car."""
    order = on_site.orders.get()
    collect(on_site, driver, order)
    order.refresh_from_db()
    assert order.status == "picked_up"
    return order


@pytest.fixture
def failed(in_care, driver):
    response = api_for(driver).post(f"/api/v1/driver/orders/{in_care.pk}/fail/", {"reason": "not_home"}, format="json")
    assert response.status_code == 200
    in_care.refresh_from_db()
    return in_care


def jpeg(size=(2400, 1200), exif=True) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    data = Image.Exif()
    data[0x0110] = "Phone 15"  # camera model
    data[0x0132] = "2027:01:04 11:20:00"
    buffer = BytesIO()
    image.save(buffer, "JPEG", exif=data.tobytes() if exif else b"")
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (an "image bomb")."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def deliver(client, order, **body):
    return client.post(f"/api/v1/driver/orders/{order.pk}/deliver/", body, format="multipart")


class TestDeliver:
    def test_handed_over_with_a_name(self, in_care, driver):
        response = api_for(driver).post(
            f"/api/v1/driver/orders/{in_care.pk}/deliver/",
            {"recipient_name": "Jamie", "latitude": "33.31", "longitude": "-111.89"},
            format="json",
        )

        assert response.status_code == 200 and response.json()["status"] == "delivered"
        event = in_care.events.get(type="order.delivered")
        assert event.details == {"left_at": "handed_to_customer", "recipient_name": "Jamie", "photo": "", "attempt": 1}
        assert event.latitude is not None and event.summary == "Handed to the customer, to Jamie"

    def test_left_at_the_door_with_a_photo_cleaned_of_its_metadata(self, in_care, driver):
        photo = SimpleUploadedFile("door.jpg", jpeg(), content_type="image/jpeg")

        response = deliver(api_for(driver), in_care, left_at="front_door", photo=photo)

        assert response.status_code == 200
        details = in_care.events.get(type="order.delivered").details
        name = details["photo"]
        assert name.startswith("proofs/") and len(Path(name).stem) >= 32
        with default_storage.open(name) as stored:
            assert hashlib.sha256(stored.read()).hexdigest() == details["photo_sha256"]  # sealed in the ledger
            stored.seek(0)
            image = Image.open(stored)
            assert max(image.size) == 1600 and image.format == "JPEG"
            assert not image.getexif()

    def test_neither_name_nor_photo_is_a_400(self, in_care, driver):
        response = api_for(driver).post(f"/api/v1/driver/orders/{in_care.pk}/deliver/", {}, format="json")

        assert response.status_code == 400 and "recipient_name" in response.json()
        in_care.refresh_from_db()
        assert in_care.status == "picked_up"

    def test_left_anywhere_but_in_hand_needs_a_photo(self, in_care, driver):
        response = api_for(driver).post(
            f"/api/v1/driver/orders/{in_care.pk}/deliver/",
            {"recipient_name": "Jamie", "left_at": "neighbour"},
            format="json",
        )

        assert response.status_code == 400 and "photo" in response.json()

    @pytest.mark.parametrize(
        "content, words",
        [
            (b"%PDF-1.4 not a photo", "not a photo we can read"),
            (png_claiming(30000, 30000), "far larger than a phone"),
            (b"\xff\xd8" + b"0" * (8 * 1024 * 1024), "at most 8 MB"),
        ],
        ids=["not-an-image", "image-bomb", "too-large"],
    )
    def test_a_bad_photo_is_a_400_and_nothing_is_saved(self, in_care, driver, content, words):
        before = _stored_files()

        response = deliver(
            api_for(driver), in_care, left_at="front_door", photo=SimpleUploadedFile("x.jpg", content, "image/jpeg")
        )

        assert response.status_code == 400 and words in response.json()["photo"][0]
        in_care.refresh_from_db()
        assert in_care.status == "picked_up" and _stored_files() == before

    def test_an_order_not_in_your_care_is_a_404_and_a_delivered_one_a_409(self, in_care, driver):
        assert (
            api_for(DriverFactory())
            .post(f"/api/v1/driver/orders/{in_care.pk}/deliver/", {"recipient_name": "X"}, format="json")
            .status_code
            == 404
        )

        client = api_for(driver)
        client.post(f"/api/v1/driver/orders/{in_care.pk}/deliver/", {"recipient_name": "Jamie"}, format="json")
        again = client.post(f"/api/v1/driver/orders/{in_care.pk}/deliver/", {"recipient_name": "Jo"}, format="json")

        assert again.status_code == 409 and "delivered" in again.json()["detail"]


class TestProofPhoto:
    @pytest.fixture
    def delivered(self, in_care, driver):
        photo = SimpleUploadedFile("door.jpg", jpeg(), content_type="image/jpeg")
        deliver(api_for(driver), in_care, left_at="front_door", photo=photo)
        return in_care.events.get(type="order.delivered")

    def url(self, event):
        return reverse("order_proof_photo", args=[event.order_id, event.pk])

    def test_the_merchant_and_program_admins_see_it(self, delivered, client):
        owner = MembershipFactory(merchant=delivered.order.merchant).user
        client.force_login(owner)
        response = client.get(self.url(delivered))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
        page = client.get(reverse("order_detail", args=[delivered.order_id])).content.decode()
        assert self.url(delivered) in page and "Left at the front door" in page

        client.force_login(UserFactory(is_staff=True))
        assert client.get(self.url(delivered)).status_code == 200

    def test_nobody_else_does(self, delivered, client, driver):
        assert client.get(self.url(delivered)).status_code == 302  # to the login page
        client.force_login(MembershipFactory().user)
        assert client.get(self.url(delivered)).status_code == 404
        client.force_login(driver.user)
        assert client.get(self.url(delivered)).status_code == 404


class TestFailAndReturn:
    def test_a_failed_delivery_says_why(self, failed):
        event = failed.events.get(type="order.delivery_failed")
        assert failed.status == "delivery_failed" and event.summary == "Nobody was home"

    @pytest.mark.parametrize(
        "body, field", [({"reason": "lost"}, "reason"), ({"reason": "other"}, "note"), ({}, "reason")]
    )
    def test_an_unknown_reason_or_other_without_a_note_is_a_400(self, in_care, driver, body, field):
        response = api_for(driver).post(f"/api/v1/driver/orders/{in_care.pk}/fail/", body, format="json")

        assert response.status_code == 400 and field in response.json()

    def test_the_store_takes_it_back_with_its_code(self, failed, driver):
        client = api_for(driver)
        code = store_code(failed.store).code
        [label, *rest] = labels_of(failed)

        wrong = client.post(
            "/api/v1/driver/returns/",
            {"store": failed.store_id, "store_code": "000000", "label_codes": [label]},
            format="json",
        )
        part = client.post(
            "/api/v1/driver/returns/",
            {"store": failed.store_id, "store_code": code, "label_codes": [label, "NOPE"]},
            format="json",
        )
        rest_back = client.post(
            "/api/v1/driver/returns/",
            {"store": failed.store_id, "store_code": code, "label_codes": [label, *rest]},
            format="json",
        )

        assert wrong.status_code == 403
        assert [(r["label_code"], r["result"]) for r in part.json()["results"]] == [
            (label, "returned"),
            ("NOPE", "unknown"),
        ]
        assert part.json()["returned"] == []
        assert rest_back.json()["returned"] == [failed.tracking_code]
        assert [r["result"] for r in rest_back.json()["results"]] == ["already_returned"] + ["returned"] * len(rest)
        failed.refresh_from_db()
        assert failed.status == "returned"

    def test_a_store_without_your_failed_parcels_is_a_400(self, in_care, driver):
        response = api_for(driver).post(
            "/api/v1/driver/returns/",
            {"store": in_care.store_id, "store_code": "123456", "label_codes": ["X"]},
            format="json",
        )

        assert response.status_code == 400 and "store" in response.json()


class TestAttempts:
    def test_returned_then_ready_again_counts_an_attempt_and_its_limit_holds(self, failed, driver, settings):
        settings.MAX_DELIVERY_ATTEMPTS = 2
        order = failed
        for move in (Order.Status.RETURNED, Order.Status.READY):
            order = order_transition(order=order, to=move, actor=SYSTEM)
        order.refresh_from_db()
        assert order.attempt == 2 and order.events.filter(type="order.ready", details__attempt=2).exists()
        assert not order.packages.filter(collected_at__isnull=False).exists()  # the next pickup scans again

        for move in ("scheduled", "picked_up", "delivery_failed", "returned"):
            Order.objects.filter(pk=order.pk).update(status=move)
        order.refresh_from_db()
        owner = MembershipFactory(merchant=order.merchant).user
        client = api_for(driver).__class__()
        client.force_login(owner)

        again = client.post(f"/api/v1/orders/{order.pk}/ready/")
        collected = client.post(f"/api/v1/orders/{order.pk}/collected/")

        assert again.status_code == 409 and "the most we try" in again.json()["detail"]
        assert collected.status_code == 200 and collected.json()["status"] == "collected"

    def test_collected_only_from_returned(self, in_care, client):
        client.force_login(MembershipFactory(merchant=in_care.merchant).user)

        response = client.post(reverse("order_collected", args=[in_care.pk]), follow=True)

        assert "cannot become collected in store" in response.content.decode()


class TestOverdueReturns:
    def test_a_failed_parcel_not_back_by_closing_time_is_flagged_once(self, failed, django_capture_on_commit_callbacks):
        UserFactory(username="ops", email="ops@program.example", is_staff=True)
        closing = datetime(2027, 1, 5, 4, 0, tzinfo=UTC)  # 21:00 Monday in Chandler

        assert returns_overdue(now=closing - timedelta(minutes=1)) == []
        with time_machine.travel(closing + timedelta(minutes=1)), django_capture_on_commit_callbacks(execute=True):
            assert returns_overdue(now=timezone.now()) == [failed]
            assert returns_overdue(now=timezone.now()) == []

        failed.refresh_from_db()
        assert failed.return_overdue
        assert [m.to for m in mail.outbox if "not back at the store" in m.subject] == [["ops@program.example"]]


def _stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def test_failed_returned_sent_out_again_and_delivered_on_the_second_attempt(
    failed, driver, django_capture_on_commit_callbacks
):
    # the parcel goes back over the counter, and the merchant sends it out again
    code = store_code(failed.store).code
    api_for(driver).post(
        "/api/v1/driver/returns/",
        {"store": failed.store_id, "store_code": code, "label_codes": labels_of(failed)},
        format="json",
    )
    owner = MembershipFactory(merchant=failed.merchant).user
    merchant = APIClient()
    merchant.force_login(owner)
    later = WindowFactory(site=failed.pickup_window.site, starts_at=timezone.now() + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):  # assignment runs when it is made ready
        again = merchant.post(f"/api/v1/orders/{failed.pk}/ready/")
    failed.refresh_from_db()
    assert again.json()["attempt"] == 2 and failed.status == "scheduled" and failed.pickup_window == later

    # a second driver collects and delivers it
    second = DriverFactory()
    [offer] = [o for o in window_offer_wave(window_id=later.pk, now=timezone.now()) if o.driver_id == second.pk]
    offer_accept(offer=offer, driver=second)
    with time_machine.travel(later.starts_at - timedelta(minutes=5)):
        window_arrive(window_id=later.pk, driver_id=second.pk, actor=SYSTEM, now=timezone.now())
        collect(later, second, failed)
        delivered = api_for(second).post(
            f"/api/v1/driver/orders/{failed.pk}/deliver/", {"recipient_name": "Jamie"}, format="json"
        )

    assert delivered.json() == {
        "id": failed.pk,
        "tracking_code": failed.tracking_code,
        "status": "delivered",
        "attempt": 2,
    }
    assert failed.events.get(type="order.delivered").details["attempt"] == 2
    assert api_for(driver).post(f"/api/v1/driver/orders/{failed.pk}/fail/", {"reason": "refused"}).status_code == 404
