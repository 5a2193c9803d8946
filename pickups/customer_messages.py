"""What a shop's customers hear about their parcel, in the store's name: by text when the order has a
phone number, else by email; each with the tracking link and a link to stop these messages.

Sent through the outbox after the change that causes them commits; a store can turn them off, and
nothing goes to an address that opted out (notifications.services.notify_customers).
"""

from django.conf import settings
from django.urls import reverse

from notifications.models import Notification
from notifications.services import CustomerMessage, notify_customers

from .models import Order

# The moments a customer hears about, each a template `notifications/customer_<what>_short.txt`.
MOMENTS = {"scheduled", "out_for_delivery", "delivered", "delivery_failed"}


def customers_tell(*, orders: list[Order], what: str, details: dict[int, dict] | None = None) -> None:
    """Tell each order's customer about `what` (one of MOMENTS); `details` adds per-order facts to the
    message (an arrival window, how it was delivered, why it failed). Orders need their store loaded."""
    assert what in MOMENTS, what
    details = details or {}
    notify_customers(
        CustomerMessage(
            channel=Notification.Channel.SMS if order.customer_phone else Notification.Channel.EMAIL,
            address=order.customer_phone or order.customer_email,
            template=f"customer_{what}" if order.customer_phone else "customer_update",
            context={
                "order": order,
                "store": order.store,
                "what": what,
                "tracking_url": settings.PORTAL_URL + reverse("tracking", args=[order.tracking_code]),
                "stop_url": settings.PORTAL_URL + reverse("tracking_stop", args=[order.tracking_code]),
                **details.get(order.pk, {}),
            },
        )
        for order in orders
        if order.store.notify_customers and (order.customer_phone or order.customer_email)
    )
