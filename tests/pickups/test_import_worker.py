"""A CSV import runs on a real worker through the real broker; the page's progress comes from it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pickups import csv_orders
from pickups.models import Order, OrderImport
from tests.conftest import wait_for
from tests.factories import MembershipFactory, StoreFactory


@pytest.mark.broker
def test_an_upload_is_imported_by_a_worker(client, celery_worker):
    member = MembershipFactory()
    StoreFactory(merchant=member.merchant, name="Desert Bloom Chandler")
    client.force_login(member.user)

    response = client.post(
        reverse("order_import"),
        {"file": SimpleUploadedFile("orders.csv", csv_orders.import_template().encode(), "text/csv")},
    )
    job = OrderImport.objects.get()
    assert response.url == reverse("order_import_detail", args=[job.pk])

    def finished():
        """the import finished"""
        return client.get(response.url, HTTP_ACCEPT="application/json").json()["status"] == "succeeded"

    wait_for(finished)
    assert Order.objects.get().external_id == "WEB-1001"
