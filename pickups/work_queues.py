"""The program team's work queues: what is stuck or going wrong right now, each a filtered admin list.

One definition per queue (a queryset and where its list lives), used by the admin index's counts
and by the admin's list filters, so what is counted is exactly what the link shows.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone

from merchants.models import Merchant
from notifications.models import Notification
from webhooks.models import Delivery

from .models import Order, OrderEvent, PickupWindow

# How far back a parcel left at a counter still needs a look.
LEFT_BEHIND_SINCE = timedelta(hours=24)


def unscheduled_orders() -> QuerySet[Order]:
    """Ready orders the assignment could not place, with the reason saved on each."""
    return Order.objects.filter(status=Order.Status.READY).exclude(not_scheduled_reason="")


def left_behind_orders() -> QuerySet[Order]:
    """Orders a driver left at a counter in the last day that still wait for a pickup."""
    left = OrderEvent.objects.filter(
        order=OuterRef("pk"), type="order.left_behind", occurred_at__gte=timezone.now() - LEFT_BEHIND_SINCE
    )
    return Order.objects.filter(Exists(left), status__in=[Order.Status.READY, Order.Status.SCHEDULED])


def failed_not_returned() -> QuerySet[Order]:
    return Order.objects.filter(status=Order.Status.DELIVERY_FAILED)


def windows_at_risk() -> QuerySet[PickupWindow]:
    """Upcoming windows with parcels and still no driver, close to their start."""
    return PickupWindow.objects.filter(
        at_risk=True, status__in=[PickupWindow.Status.OPEN, PickupWindow.Status.OFFERED], starts_at__gt=timezone.now()
    )


def visits_left_open() -> QuerySet[PickupWindow]:
    """Drivers on site after the window ended (the sweep ends them after DEPART_GRACE_MINUTES)."""
    return PickupWindow.objects.filter(status=PickupWindow.Status.IN_PROGRESS, ends_at__lt=timezone.now())


def missed_today() -> QuerySet[PickupWindow]:
    return PickupWindow.objects.filter(
        status=PickupWindow.Status.MISSED, ends_at__gte=timezone.now() - timedelta(days=1)
    )


@dataclass(frozen=True)
class Queue:
    key: str
    title: str
    rows: Callable[[], QuerySet]
    url: str  # the admin list showing them


def queues() -> list[Queue]:
    orders, windows = reverse("admin:pickups_order_changelist"), reverse("admin:pickups_pickupwindow_changelist")
    return [
        Queue(
            "pending",
            "Merchants waiting for approval",
            _pending,
            reverse("admin:merchants_merchant_changelist") + "?status__exact=pending",
        ),
        Queue(
            "unscheduled", "Ready orders that could not be scheduled", unscheduled_orders, f"{orders}?queue=unscheduled"
        ),
        # Its list is deliveries' dispatch page, where an admin offers the window again or gives it to a driver.
        Queue("at_risk", "Pickups at risk: no driver yet", windows_at_risk, reverse("admin:deliveries_dispatch")),
        Queue("open_visits", "Visits left open after their window", visits_left_open, f"{windows}?queue=open_visits"),
        Queue("missed", "Pickups missed in the last day", missed_today, f"{windows}?queue=missed"),
        Queue("left_behind", "Parcels left at a counter (last day)", left_behind_orders, f"{orders}?queue=left_behind"),
        Queue("failed", "Failed deliveries not back at the store", failed_not_returned, f"{orders}?queue=failed"),
        Queue(
            "notifications",
            "Messages that could not be sent",
            _failed_notifications,
            reverse("admin:notifications_notification_changelist") + "?status__exact=failed",
        ),
        Queue(
            "webhooks",
            "Webhook deliveries that failed",
            _failed_webhooks,
            reverse("admin:webhooks_delivery_changelist") + "?status__exact=failed",
        ),
    ]


def queue_counts() -> list[tuple[Queue, int]]:
    """Each queue with how many rows it holds now (one COUNT each)."""
    return [(queue, queue.rows().count()) for queue in queues()]


def _pending() -> QuerySet[Merchant]:
    return Merchant.objects.filter(status=Merchant.Status.PENDING, email_confirmed_at__isnull=False)


def _failed_notifications() -> QuerySet[Notification]:
    return Notification.objects.filter(status=Notification.Status.FAILED)


def _failed_webhooks() -> QuerySet[Delivery]:
    return Delivery.objects.filter(status=Delivery.Status.FAILED)


ORDER_QUEUES = {"unscheduled": unscheduled_orders, "left_behind": left_behind_orders, "failed": failed_not_returned}
WINDOW_QUEUES = {"at_risk": windows_at_risk, "open_visits": visits_left_open, "missed": missed_today}
