from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.models import AppendOnlyModel, TimeStampedModel

MAX_PACKAGES = 20
# Unambiguous characters only (no 0/O, 1/I/L), so codes read aloud or typed from a label survive.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_CODE_LENGTH = 12
MAX_PACKAGE_WEIGHT_LB = 50
MAX_PACKAGE_SIDE_IN = 48


class OrderStatus(models.TextChoices):
    CREATED = "created", "Created"
    READY = "ready", "Ready for pickup"
    SCHEDULED = "scheduled", "Scheduled"
    PICKED_UP = "picked_up", "Picked up"
    DELIVERED = "delivered", "Delivered"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"
    RETURNED = "returned", "Returned to store"
    COLLECTED = "collected", "Collected in store"
    CANCELLED = "cancelled", "Cancelled"


class ServiceLevel(models.TextChoices):
    SAME_DAY = "same_day", "Same day"
    TWO_DAY = "two_day", "Two day"


class Order(TimeStampedModel):
    """One delivery from one store to one customer, with one or more packages."""

    Status = OrderStatus
    ServiceLevel = ServiceLevel

    # No index of its own: the indexes below (and the order number's unique one) start with the merchant and
    # serve every look-up by it; one index fewer for each order written, and each scheduled in bulk.
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="orders", db_index=False)
    store = models.ForeignKey("merchants.Store", on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(
        "your order number", max_length=64, help_text="Your own reference; unique across your orders."
    )
    service_level = models.CharField(max_length=10, choices=ServiceLevel.choices, default=ServiceLevel.SAME_DAY)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.CREATED)
    tracking_code = models.CharField(max_length=16, editable=False)  # unique: Meta.constraints

    customer_name = models.CharField(max_length=200)
    customer_phone = models.CharField(max_length=30)
    customer_email = models.EmailField(blank=True)
    address_line1 = models.CharField("address", max_length=200)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2)
    postal_code = models.CharField("ZIP code", max_length=10)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    distance_miles = models.DecimalField(
        max_digits=5, decimal_places=1, help_text="Straight-line miles from the store's site."
    )
    notes = models.TextField(blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ready_at = models.DateTimeField(null=True, blank=True)
    pickup_window = models.ForeignKey(
        "pickups.PickupWindow", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    not_scheduled_reason = models.CharField(
        max_length=300, blank=True, help_text="Why a ready order has no pickup window yet."
    )
    quote = models.ForeignKey(
        "pickups.Quote",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        help_text="The delivery promise shown at checkout, honoured when the order is scheduled.",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    promised_date = models.DateField(
        null=True, blank=True, help_text="The day the customer was promised, set when the order is scheduled."
    )
    attempt = models.PositiveSmallIntegerField(
        "delivery attempt", default=1, help_text="2 once a failed delivery came back and the order went out again."
    )
    return_overdue = models.BooleanField(
        default=False, help_text="Its delivery failed and it was not back at the store by closing time."
    )
    schedule_untold = models.BooleanField(
        default=False,
        db_default=False,  # web processes of the release before write orders without it while this one deploys
        help_text="Scheduled, and its customer not yet told the promised day (a sweep tells them if a task was lost).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "status"]),
            models.Index(fields=["merchant", "-created_at"]),
            # The sweep's look for customers left untold: only those orders are in it, from their scheduling until
            # their telling task has run (seconds, unless the task was lost).
            models.Index(fields=["updated_at"], condition=Q(schedule_untold=True), name="order_schedule_untold"),
        ]
        constraints = [
            # A constraint rather than unique=True, which on PostgreSQL adds a second index for LIKE that no query
            # uses and every write of an order would update (as label codes, below).
            models.UniqueConstraint(fields=["tracking_code"], name="order_tracking_code_unique"),
            models.UniqueConstraint(fields=["merchant", "external_id"], name="order_external_id_unique_per_merchant"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(
                condition=Q(service_level__in=ServiceLevel.values), name="order_service_level_valid"
            ),
        ]

    def __str__(self):
        return f"{self.external_id} ({self.tracking_code})"

    @property
    def customer_first_name(self) -> str:
        return self.customer_name.split(" ")[0]

    @property
    def address(self) -> str:
        street = ", ".join(part for part in (self.address_line1, self.address_line2) if part)
        return f"{street}, {self.city}, {self.state} {self.postal_code}"


class PickupWindowStatus(models.TextChoices):
    OPEN = "open", "Open"
    OFFERED = "offered", "Offered to drivers"
    ACCEPTED = "accepted", "Driver assigned"
    IN_PROGRESS = "in_progress", "Driver on site"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


class PickupWindow(models.Model):
    """A time at a site when one driver collects the ready parcels of all its stores.

    Start and end are aware UTC instants computed in the site's local time; `booked_packages`
    never exceeds `capacity_packages` (the database refuses it).
    """

    Status = PickupWindowStatus

    site = models.ForeignKey("merchants.Site", on_delete=models.PROTECT, related_name="pickup_windows")
    local_date = models.DateField(help_text="The site's local day.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity_packages = models.PositiveSmallIntegerField()
    booked_packages = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, choices=PickupWindowStatus.choices, default=PickupWindowStatus.OPEN)
    driver = models.ForeignKey(
        "deliveries.Driver", null=True, blank=True, on_delete=models.PROTECT, related_name="windows"
    )
    # What merchants may see of the driver, copied when the driver accepts.
    driver_name = models.CharField("driver's first name", max_length=150, blank=True)
    driver_vehicle = models.CharField(max_length=150, blank=True, help_text="e.g. Silver sedan (Car)")
    accepted_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    at_risk = models.BooleanField(default=False, help_text="Nobody accepted shortly before the start.")
    offer_wave = models.PositiveSmallIntegerField(default=0)
    next_wave_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "site"]
        indexes = [models.Index(fields=["status", "starts_at"])]
        constraints = [
            models.UniqueConstraint(fields=["site", "starts_at"], name="pickup_window_unique_start_per_site"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="pickup_window_ends_after_start"),
            models.CheckConstraint(
                condition=Q(booked_packages__lte=F("capacity_packages")), name="pickup_window_within_capacity"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PickupWindowStatus.values), name="pickup_window_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.site} {self.local_date} {self.starts_at:%H:%M}Z"

    @property
    def free_packages(self) -> int:
        return self.capacity_packages - self.booked_packages


class WindowEvent(AppendOnlyModel):
    """One move of a pickup window (offered, accepted, driver arrived, left, missed...): its ledger."""

    window = models.ForeignKey(PickupWindow, on_delete=models.PROTECT, related_name="events")
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    reason = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Quote(models.Model):
    """A delivery promise given before an order exists (a shop's checkout asks), valid a short while."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="quotes")
    store = models.ForeignKey("merchants.Store", on_delete=models.CASCADE, related_name="quotes")
    service_level = models.CharField(max_length=10, choices=ServiceLevel.choices)
    postal_code = models.CharField(max_length=10)
    distance_miles = models.DecimalField(max_digits=6, decimal_places=1, null=True)
    eligible = models.BooleanField()
    reason = models.CharField(max_length=300, blank=True)
    window = models.ForeignKey(PickupWindow, null=True, on_delete=models.SET_NULL, related_name="+")
    promised_date = models.DateField(null=True, help_text="Delivery day in the customer's local calendar.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Quote {self.pk} for {self.store}"


def _side(label: str) -> models.DecimalField:
    """A package dimension in inches; optional, but the intake rules want all three or none."""
    return models.DecimalField(
        label,
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(MAX_PACKAGE_SIDE_IN)],
    )


class Package(models.Model):
    """One parcel of an order, with its own label and barcode."""

    # Found by order through package_sequence_unique_per_order, which starts with it: no index of its own.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="packages", db_index=False)
    sequence = models.PositiveSmallIntegerField(help_text="1 for the first package of the order, and so on.")
    label_code = models.CharField(max_length=24, editable=False)  # unique: Meta.constraints
    weight_lb = models.DecimalField(
        "weight (lb)",
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_PACKAGE_WEIGHT_LB)],
    )
    length_in = _side("length (in)")
    width_in = _side("width (in)")
    height_in = _side("height (in)")
    collected_at = models.DateTimeField(
        null=True, blank=True, help_text="When the driver scanned it at the counter, before the order is picked up."
    )
    returned_at = models.DateTimeField(
        null=True, blank=True, help_text="When the store scanned it back after a failed delivery."
    )

    class Meta:
        ordering = ["order", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["label_code"], name="package_label_code_unique"),
            models.UniqueConstraint(fields=["order", "sequence"], name="package_sequence_unique_per_order"),
            models.CheckConstraint(
                condition=Q(weight_lb__gt=0, weight_lb__lte=MAX_PACKAGE_WEIGHT_LB), name="package_weight_in_limits"
            ),
        ]

    def __str__(self):
        return self.label_code


# How each ledger event reads in the portal and on the tracking page.
EVENT_TITLES = {
    "order.created": "Order created",
    "order.edited": "Order details changed",
    "order.ready": "Ready for pickup",
    "order.scheduled": "Pickup scheduled",
    "order.pickup_missed": "Pickup missed, to be rescheduled",
    "order.withdrawn": "Taken out of its pickup: the merchant account is suspended",
    "order.driver_assigned": "Driver assigned",
    "order.driver_arrived": "Driver arrived at the store",
    "order.driver_released": "The driver gave the pickup back; finding another",
    "order.left_behind": "Left at the store, to be picked up again",
    "order.picked_up": "Picked up by the driver",
    "order.out_for_delivery": "Out for delivery",
    "order.delivered": "Delivered",
    "order.delivery_failed": "Delivery attempt failed",
    "order.returned": "Returned to the store",
    "order.collected": "Collected by the customer in the store",
    "order.cancelled": "Cancelled",
}


# The fields an "order.edited" event lists, as its summary names them.
EDITED_WORDS = {
    "customer_name": "customer's name",
    "customer_phone": "phone",
    "customer_email": "email",
    "address_line1": "address",
    "address_line2": "address line 2",
    "postal_code": "ZIP code",
    "latitude": "exact location",
    "longitude": "exact location",
    "distance_miles": "distance",
}


# Where a delivered parcel was left, and why a delivery failed, in the customer's and the merchant's words.
DELIVERY_PLACES = {
    "handed_to_customer": "Handed to the customer",
    "front_door": "Left at the front door",
    "reception": "Left at reception",
    "neighbour": "Left with a neighbour",
}
FAILURE_REASONS = {
    "not_home": "Nobody was home",
    "address_not_found": "The address could not be found",
    "refused": "The parcel was refused",
    "unsafe": "It was not safe to deliver",
    "damaged": "The parcel was damaged",
    "other": "Another reason",
}


class OrderEvent(AppendOnlyModel):
    """One step in an order's life: the custody ledger, the timeline and the webhook source.

    Append-only: no code path edits or deletes an event.
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events", db_index=False)
    type = models.CharField(max_length=40, help_text="e.g. order.created, order.ready, order.picked_up")
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="Who did it, kept even if the login is removed.")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # The custody chain (pickups.custody): each event sealed to the one before it of the same order.
    prev_hash = models.CharField(
        max_length=64, blank=True, editable=False, help_text="The seal of the order's previous event; empty first."
    )
    hash = models.CharField(
        max_length=64, editable=False, help_text="SHA-256 of this event's content and the previous seal."
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            # An order's events in the order they were appended: its chain's last seal is one index descent away
            # (pickups.ledger).
            models.Index(fields=["order", "id"], name="order_event_chain")
        ]
        constraints = [
            # One successor per link: the database refuses a fork in an order's chain.
            models.UniqueConstraint(fields=["order", "prev_hash"], name="order_event_one_successor")
        ]

    def __str__(self):
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def title(self) -> str:
        return EVENT_TITLES.get(self.type, self.type)

    @property
    def summary(self) -> str:
        """The event's particulars in a line: where a parcel was left and to whom, why a delivery failed."""
        details = self.details
        if self.type == "order.delivered":
            place = DELIVERY_PLACES.get(details.get("left_at"), "")
            name = details.get("recipient_name")
            return f"{place}, to {name}" if name and place else place or name or ""
        if self.type == "order.delivery_failed":
            reason = FAILURE_REASONS.get(details.get("reason"), "")
            return f"{reason}: {details['note']}" if details.get("note") else reason
        if self.type == "order.edited":
            words = dict.fromkeys(EDITED_WORDS.get(name, name) for name in details.get("changed", []))
            return "Changed: " + ", ".join(words)
        return details.get("reason", "")


class OrderImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Checking rows"
    SUCCEEDED = "succeeded", "Imported"
    FAILED = "failed", "Not imported"


class OrderImport(models.Model):
    """An uploaded CSV of orders, checked and imported by a worker: every row or none."""

    Status = OrderImportStatus

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="order_imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=255)
    content = models.TextField(help_text="The uploaded CSV, decoded.")
    status = models.CharField(max_length=10, choices=OrderImportStatus.choices, default=OrderImportStatus.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    checked_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, column, message}], row 2 is the first order.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OrderImportStatus.values), name="order_import_status_valid")
        ]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return 100 if self.is_finished else int(100 * self.checked_rows / self.total_rows) if self.total_rows else 0


class BulkActionKind(models.TextChoices):
    READY = "ready", "Flag ready for pickup"
    LABELS = "labels", "Print labels"


class BulkActionStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Working"
    DONE = "done", "Done"
    FAILED = "failed", "Stopped"


class BulkAction(models.Model):
    """A bulk action on many orders (flag ready, print labels) done by a worker, with its progress.

    The orders are chosen when it starts (`order_ids`, the merchant's own, from the list's filters) and never
    re-read from the filters, so orders created meanwhile are not swept in."""

    Kind = BulkActionKind
    Status = BulkActionStatus

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="bulk_actions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=BulkActionKind.choices)
    status = models.CharField(max_length=10, choices=BulkActionStatus.choices, default=BulkActionStatus.QUEUED)
    query = models.TextField(blank=True, help_text="The order list's filters it was started from (a query string).")
    order_ids = models.JSONField(default=list, help_text="The orders it works on, in the list's order.")
    total = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0, help_text="Orders gone through so far.")
    changed_count = models.PositiveIntegerField(default=0, help_text="Orders flagged ready, or labels drawn.")
    refused = models.JSONField(default=dict, blank=True, help_text="{order status: orders left as they were}.")
    error = models.CharField(max_length=500, blank=True, help_text="Why it stopped, in the merchant's words.")
    labels_file = models.CharField(max_length=255, blank=True, help_text="The labels PDF, in the default storage.")
    resumes = models.PositiveSmallIntegerField(default=0, help_text="Times the sweep queued it again.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now, help_text="Its last progress (or queueing), for the sweep.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"])]  # the sweep's look for unfinished, stale ones
        constraints = [
            models.CheckConstraint(condition=Q(status__in=BulkActionStatus.values), name="bulk_action_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=BulkActionKind.values), name="bulk_action_kind_valid"),
            models.CheckConstraint(condition=Q(done_count__lte=F("total")), name="bulk_action_done_within_total"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.total} orders ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        """Never 100 before it is done: the last step (saving the labels' file) may still fail."""
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.done_count / self.total)) if self.total else 0

    @property
    def refused_count(self) -> int:
        return sum(self.refused.values())

    @property
    def refused_summary(self) -> list[tuple[str, int]]:
        """[(status in words, orders)] of the orders left as they were, most first."""
        labels = dict(OrderStatus.choices)
        return sorted(((labels.get(s, s), n) for s, n in self.refused.items()), key=lambda row: (-row[1], row[0]))
