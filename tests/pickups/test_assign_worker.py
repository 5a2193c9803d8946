"""Marking an order ready leads to `scheduled` through the real broker and worker alone."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from merchants.services import api_key_create
from pickups.models import Order
from tests.conftest import wait_for
from tests.factories import StoreFactory, WindowFactory, make_orders


@pytest.mark.broker
def test_ready_becomes_scheduled_without_anyone_calling_the_task(monday_morning, celery_worker):
    store = StoreFactory()  # open 10:00-21:00; it is 10:00, the window below is 12:00-14:00
    [order] = make_orders(store)
    WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(hours=2))
    _, key = api_key_create(merchant=store.merchant, name="Worker test", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert client.post(f"/api/v1/orders/{order.pk}/ready/").json()["status"] == "ready"

    def scheduled():
        """the order is scheduled"""
        return Order.objects.get(pk=order.pk).status == Order.Status.SCHEDULED

    wait_for(scheduled)
    assert Order.objects.get(pk=order.pk).events.filter(type="order.scheduled").exists()
