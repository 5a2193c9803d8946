"""Feeds merchants' webhooks from the order ledger, in the same transaction as each event.

Only merchants with an active endpoint pay for it (others cost one query per batch of events):
their orders are read once, in bulk, and each
event's payload is the order as the API shows it, so a receiver sees what `GET /orders/{id}/` gives.
"""

from webhooks.catalogue import FROM_LEDGER
from webhooks.services import Event, merchants_with_endpoints, webhooks_emit

from .api.serializers import OrderSerializer
from .models import OrderEvent
from .selectors import orders_with_details


def webhooks_from_ledger(events: list[OrderEvent]) -> None:
    events = [event for event in events if event.type in FROM_LEDGER]
    if not events:
        return
    merchant_of = {event.order_id: event.order.merchant_id for event in events}  # events hold their loaded orders
    listening = merchants_with_endpoints(set(merchant_of.values()))
    events = [event for event in events if merchant_of[event.order_id] in listening]
    if not events:
        return
    orders = {order.pk: order for order in orders_with_details().filter(pk__in={e.order_id for e in events})}
    webhooks_emit(
        [
            Event(
                merchant_id=merchant_of[event.order_id],
                event_id=f"evt_{event.hash[:32]}",
                type=FROM_LEDGER[event.type],
                occurred_at=event.occurred_at,
                data=OrderSerializer(orders[event.order_id]).data,
            )
            for event in events
        ]
    )
