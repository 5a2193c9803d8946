"""The API answers with orders and events built from plain rows; they must be what the serializers that
document them (and write webhook payloads) would write, field for field."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from common.actors import SYSTEM
from merchants.services import api_key_create
from pickups import selectors, services
from pickups.api.serializers import OrderEventSerializer, OrderSerializer, TrackingSerializer
from pickups.ledger import events_append, order_event
from pickups.models import Order, PickupWindow
from tests.factories import StoreFactory, make_orders
from tests.pickups.test_api_orders import ORDERS, new_order

pytestmark = pytest.mark.django_db


def api_for(merchant) -> APIClient:
    _, raw = api_key_create(merchant=merchant, name="Checkout", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def as_serialized(order_pk: int) -> dict:
    """The order as OrderSerializer writes it, through JSON as a client reads it."""
    order = selectors.orders_with_details().get(pk=order_pk)
    return json.loads(JSONRenderer().render(OrderSerializer(order).data))


def test_a_scheduled_order_with_a_driver_and_a_quote_reads_as_serialized(window):
    [order] = window.orders.all()
    PickupWindow.objects.filter(pk=window.pk).update(driver_name="Dee", driver_vehicle="Silver sedan (Car)")
    api = api_for(order.merchant)

    detail = api.get(f"{ORDERS}{order.pk}/").json()
    [listed] = api.get(ORDERS).json()["results"]

    assert detail == listed == as_serialized(order.pk)
    assert detail["pickup_window"]["driver"] == {"first_name": "Dee", "vehicle": "Silver sedan (Car)"}


def test_orders_with_sizes_without_and_cancelled_read_as_serialized(merchant):
    store = StoreFactory(merchant=merchant)
    plain, sized = make_orders(store, 2, packages=2)
    services.order_cancel(order=plain, actor=SYSTEM, reason="Out of stock")
    sized.packages.filter(sequence=2).update(
        length_in=Decimal("12.5"), width_in=Decimal("8"), height_in=Decimal("0.1"), weight_lb=Decimal("49.99")
    )
    api = api_for(merchant)

    listed = {order["id"]: order for order in api.get(ORDERS).json()["results"]}

    for order in (plain, sized):
        assert listed[order.pk] == api.get(f"{ORDERS}{order.pk}/").json() == as_serialized(order.pk)
    assert listed[plain.pk]["cancelled_at"] and listed[plain.pk]["pickup_window"] is None


def test_the_answers_to_create_and_moves_read_as_serialized(merchant):
    store = StoreFactory(merchant=merchant)
    api = api_for(merchant)
    body = new_order(store, latitude="33.306701", longitude="-111.841")

    created = api.post(ORDERS, body, format="json").json()
    assert created == as_serialized(created["id"])
    assert created["latitude"] == "33.306701" and created["longitude"] == "-111.841000"
    for move, data in (("ready", None), ("cancel", {"reason": "Customer changed mind"})):
        moved = api.post(f"{ORDERS}{created['id']}/{move}/", data, format="json").json()
        assert moved == as_serialized(created["id"])


def test_events_read_as_serialized(merchant):
    [order] = make_orders(StoreFactory(merchant=merchant))
    services.order_mark_ready(order=order, actor=SYSTEM)
    services.order_cancel(order=order, actor=SYSTEM, reason="Out of stock")

    events = api_for(merchant).get(f"{ORDERS}{order.pk}/events/").json()

    serialized = OrderEventSerializer(Order.objects.get(pk=order.pk).events.order_by("occurred_at", "id"), many=True)
    assert events == json.loads(JSONRenderer().render(serialized.data))
    assert [event["type"] for event in events] == ["order.created", "order.ready", "order.cancelled"]


def moved(order, to, type_="", **details):
    """The order moved through the ledger's writer (its event sealed), as the services leave it."""
    order.refresh_from_db()
    events_append([order_event(order, type_ or f"order.{to}", SYSTEM, timezone.now(), order.status, to, details)])
    Order.objects.filter(pk=order.pk).update(status=to)


def test_public_tracking_reads_as_serialized_at_every_stage(merchant):
    store = StoreFactory(merchant=merchant)
    created, on_its_way, delivered, cancelled = make_orders(store, 4)
    soon = timezone.now() + timedelta(hours=1)
    for order in (on_its_way, delivered):
        moved(order, Order.Status.READY)
        moved(order, Order.Status.SCHEDULED)
        moved(order, Order.Status.PICKED_UP)
        moved(
            order,
            Order.Status.PICKED_UP,
            "order.out_for_delivery",
            eta_from=soon.isoformat(),
            eta_to=(soon + timedelta(minutes=30)).isoformat(),
        )
    moved(delivered, Order.Status.DELIVERED, left_at="front_door", recipient_name="Jamie")
    services.order_cancel(order=cancelled, actor=SYSTEM, reason="Out of stock")

    for order in (created, on_its_way, delivered, cancelled):
        answer = APIClient().get(f"/api/v1/track/{order.tracking_code}/").json()
        loaded = Order.objects.prefetch_related("events").get(pk=order.pk)
        loaded.timeline = list(loaded.events.order_by("occurred_at", "id"))
        assert answer == json.loads(JSONRenderer().render(TrackingSerializer(loaded).data)), order.status
    assert answer["progress"]["steps"] == [] and answer["status"] == "cancelled"
    assert APIClient().get(f"/api/v1/track/{on_its_way.tracking_code}/").json()["progress"]["eta_from"]
