from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from common.models import TimeStampedModel


class DriverStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class VehicleType(models.TextChoices):
    CAR = "car", "Car"
    SUV = "suv", "SUV"
    MINIVAN = "minivan", "Minivan"
    PICKUP = "pickup", "Pickup truck"
    VAN = "van", "Cargo van"


class Driver(TimeStampedModel):
    """An independent contract driver with their own car, managed by program admins."""

    Status = DriverStatus
    Vehicle = VehicleType

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="driver")
    phone = models.CharField(max_length=30, help_text="Offers are texted here.")
    vehicle_type = models.CharField(max_length=10, choices=VehicleType.choices, default=VehicleType.CAR)
    vehicle_description = models.CharField(max_length=100, blank=True, help_text="e.g. Silver Toyota Camry")
    capacity_packages = models.PositiveSmallIntegerField(
        "packages per trip", default=30, validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    home_latitude = models.DecimalField(max_digits=9, decimal_places=6)
    home_longitude = models.DecimalField(max_digits=9, decimal_places=6)
    max_distance_miles = models.DecimalField(
        "farthest site to offer (miles)", max_digits=4, decimal_places=1, default=Decimal("25")
    )
    status = models.CharField(max_length=10, choices=DriverStatus.choices, default=DriverStatus.PENDING)

    class Meta:
        ordering = ["user__first_name", "user__last_name"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DriverStatus.values), name="driver_status_valid"),
            models.CheckConstraint(condition=Q(vehicle_type__in=VehicleType.values), name="driver_vehicle_valid"),
        ]

    def __str__(self):
        return self.user.get_full_name() or self.user.username

    @property
    def first_name(self) -> str:
        return self.user.first_name or self.user.username


class OfferStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"
    RELEASED = "released", "Given back"


class Offer(models.Model):
    """A pickup window offered to one driver; the first valid accept of a window wins it."""

    Status = OfferStatus

    window = models.ForeignKey("pickups.PickupWindow", on_delete=models.CASCADE, related_name="offers")
    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="offers")
    wave = models.PositiveSmallIntegerField()
    distance_miles = models.DecimalField(max_digits=5, decimal_places=1, help_text="From the driver's home base.")
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    offered_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-offered_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.UniqueConstraint(fields=["window", "driver"], name="offer_once_per_driver_and_window"),
            # The database's own guard that a window has one winner, whatever the code does.
            models.UniqueConstraint(
                fields=["window"], condition=Q(status="accepted"), name="offer_one_accepted_per_window"
            ),
            models.CheckConstraint(condition=Q(status__in=OfferStatus.values), name="offer_status_valid"),
        ]

    def __str__(self):
        return f"{self.window} to {self.driver} ({self.status})"
