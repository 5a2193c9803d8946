"""Labels (a real PDF, read back) and public tracking (no personal data)."""

from io import BytesIO

import pytest
from pypdf import PdfReader
from rest_framework.test import APIClient

from pickups.labels import labels_pdf
from pickups.selectors import orders_for_merchant
from tests.factories import StoreFactory, make_orders

pytestmark = pytest.mark.django_db


def read(pdf_bytes):
    reader = PdfReader(BytesIO(pdf_bytes))
    return reader, [page.extract_text() for page in reader.pages]


def test_one_4x6_page_per_package_with_everything_a_driver_needs(owner_client, merchant):
    store = StoreFactory(merchant=merchant, name="Desert Bloom", unit="1120", site__name="Chandler Fashion Center")
    [order] = make_orders(store, packages=3, customer_name="Jamie Rivera", service_level="two_day")

    response = owner_client.get(f"/api/v1/orders/{order.pk}/label/")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader, pages = read(response.content)
    assert len(pages) == 3
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [288, 432]  # 4x6 inches in points
    for number, text in enumerate(pages, start=1):
        assert f"Package {number} of 3" in text
        assert "Desert Bloom" in text and "Chandler Fashion Center, unit 1120" in text
        assert "Jamie Rivera" in text and "Chandler, AZ 85225" in text
        assert "TWO DAY" in text
        assert order.tracking_code in text
        assert f"{order.tracking_code}{number:02d}" in text


def test_many_orders_in_one_pdf():
    store = StoreFactory()
    make_orders(store, 4, packages=2)

    _, pages = read(labels_pdf(list(orders_for_merchant(store.merchant))))

    assert len(pages) == 8


def test_tracking_shows_progress_but_no_personal_data():
    store = StoreFactory(name="Neon Threads")
    [order] = make_orders(
        store, customer_name="Jamie Rivera", customer_phone="702-555-0142", customer_email="jamie@example.com"
    )

    response = APIClient().get(f"/api/v1/track/{order.tracking_code.lower()}/")

    assert response.status_code == 200
    body = response.json()
    assert body["customer_first_name"] == "Jamie" and body["city"] == "Chandler"
    assert body["status"] == "created" and body["store"] == "Neon Threads"
    assert [e["type"] for e in body["events"]] == ["order.created"]
    text = response.content.decode()
    for secret in ("Rivera", "702-555-0142", "jamie@example.com", "100 N Arizona", "actor"):
        assert secret not in text


def test_an_unknown_tracking_code_is_404():
    assert APIClient().get("/api/v1/track/NOSUCHCODE12/").status_code == 404
