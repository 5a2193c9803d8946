"""The events merchants' systems can subscribe to, and which ledger event feeds each."""

EVENTS = {
    "order.created": "An order was created (form, CSV or API).",
    "order.edited": "An order's customer, address, notes or packages were changed before it was flagged ready; "
    "`data` is the order as it is now.",
    "order.ready": "An order was flagged ready for pickup.",
    "order.scheduled": "An order was put into a pickup window; `pickup_window` says when.",
    "order.picked_up": "The driver collected every parcel of an order at the counter.",
    "order.out_for_delivery": "An order left the mall with its driver, with an arrival window.",
    "order.delivered": "An order was delivered, with the proof's summary.",
    "order.delivery_failed": "A delivery attempt failed; the parcel goes back to the store.",
    "order.returned": "A failed delivery is back at the store.",
    "order.cancelled": "An order was cancelled.",
    "order.rescheduled": "An order's pickup did not happen (missed, left at the counter, or withdrawn while "
    "the account is suspended) and it is ready again.",
    "window.driver_assigned": "A driver accepted the pickup window holding the order.",
    "window.driver_arrived": "The driver of the order's pickup window checked in at the site.",
}

# Ledger event type -> webhook event type (ledger events not listed here are not sent).
FROM_LEDGER = {
    **{name: name for name in EVENTS if name.startswith("order.") and name != "order.rescheduled"},
    "order.pickup_missed": "order.rescheduled",
    "order.left_behind": "order.rescheduled",
    "order.withdrawn": "order.rescheduled",
    "order.driver_assigned": "window.driver_assigned",
    "order.driver_arrived": "window.driver_arrived",
}
