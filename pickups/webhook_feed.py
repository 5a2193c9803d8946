"""Feeds merchants' webhooks from the order ledger, in the same transaction as each event.

Only merchants with an active endpoint pay for it (others cost one query per batch of events, none when
the moved orders were read with `merchant_listens`):
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
    orders = [event.order for event in events]  # events hold their loaded orders
    known = all(hasattr(order, "merchant_listens") for order in orders)
    webhooks_from_seals(
        events,
        merchant_of={order.pk: order.merchant_id for order in orders},
        listening={order.merchant_id for order in orders if order.merchant_listens} if known else None,
    )


def webhooks_from_seals(events, *, merchant_of: dict[int, int], listening: set[int] | None = None) -> None:
    """`events`: sealed ledger events, or plain entries written in bulk (order_id, type, occurred_at, hash).
    `listening`: the merchants with an active endpoint, if known (one query otherwise)."""
    events = [event for event in events if event.type in FROM_LEDGER]
    if not events:
        return
    if listening is None:
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
