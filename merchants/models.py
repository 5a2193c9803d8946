from datetime import time
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.models import TimeStampedModel
from common.timezones import validate_timezone

from .handoff_codes import new_handoff_secret


class MerchantStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    SUSPENDED = "suspended", "Suspended"


class Merchant(TimeStampedModel):
    """A business in the program (a mall shop's brand or a local store); the unit of tenancy."""

    Status = MerchantStatus

    legal_name = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200)
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=30, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=300, blank=True, help_text="Shown to the merchant when suspended.")
    approved_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    # Empty while a self-service signup waits for its owner to click the emailed link (see
    # merchants.standing); merchants made any other way (the admin, demo data) start confirmed.
    email_confirmed_at = models.DateTimeField(
        "email confirmed", null=True, blank=True, default=timezone.now, help_text="When the owner confirmed the email."
    )

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=MerchantStatus.values), name="merchant_status_valid")
        ]

    def __str__(self):
        return self.display_name

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED


class MembershipRole(models.TextChoices):
    OWNER = "owner", "Owner"
    STAFF = "staff", "Staff"


class Membership(TimeStampedModel):
    """A portal user's place in one merchant. Owners manage the team and API keys; staff run orders."""

    Role = MembershipRole

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)

    class Meta:
        ordering = ["role", "user__email"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=MembershipRole.values), name="membership_role_valid")
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()} of {self.merchant})"

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class Invitation(TimeStampedModel):
    """A pending invitation to join a merchant's team. Only a hash of the emailed token is kept."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.STAFF)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation of {self.email} to {self.merchant}"


class SiteKind(models.TextChoices):
    MALL = "mall", "Mall"
    STANDALONE = "standalone", "Standalone store"


class Site(TimeStampedModel):
    """A place drivers go: a mall (all its shops share one stop) or a standalone store's own address.

    Opening hours, cutoffs and pickup windows are computed in the site's own time zone.
    """

    Kind = SiteKind

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.MALL)
    address_line1 = models.CharField("address", max_length=200)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2, help_text="Two-letter state code, e.g. AZ.")
    postal_code = models.CharField("ZIP code", max_length=10)
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    timezone = models.CharField(
        max_length=64, validators=[validate_timezone], help_text="IANA name, e.g. America/Phoenix."
    )
    # How pickup windows are cut at this site (local time, during its stores' opening hours).
    window_minutes = models.PositiveSmallIntegerField(
        "window length (minutes)", default=120, validators=[MinValueValidator(30), MaxValueValidator(480)]
    )
    window_spacing_minutes = models.PositiveSmallIntegerField(
        "a window starts every (minutes)", default=120, validators=[MinValueValidator(30), MaxValueValidator(480)]
    )
    window_capacity_packages = models.PositiveSmallIntegerField(
        "packages per window", default=60, validators=[MinValueValidator(1)]
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=SiteKind.values), name="site_kind_valid")]

    def __str__(self):
        return self.name

    @property
    def address(self) -> str:
        street = ", ".join(part for part in (self.address_line1, self.address_line2) if part)
        return f"{street}, {self.city}, {self.state} {self.postal_code}"


class Store(TimeStampedModel):
    """A merchant's shop at a site, with its weekly hours, closures and the area it delivers to."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="stores")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="stores")
    name = models.CharField(max_length=200)
    unit = models.CharField("unit or suite", max_length=50, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    service_radius_miles = models.DecimalField(
        "delivery radius (miles)",
        max_digits=4,
        decimal_places=1,
        default=Decimal("10.0"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("50"))],
    )
    same_day_cutoff = models.TimeField(
        "same-day cutoff", default=time(14, 0), help_text="Orders ready after this local time go out the next open day."
    )
    pickup_instructions = models.TextField(blank=True, help_text="Where drivers find you, e.g. the back door.")
    notify_customers = models.BooleanField(
        "send customers parcel updates",
        default=True,
        help_text="A text (or email) in your store's name when an order is scheduled, on its way, delivered or not.",
    )
    text_on_arrival = models.BooleanField("text the store phone when a driver arrives", default=False)
    is_active = models.BooleanField(default=True)
    # The TOTP secret behind the store code a driver types in at the counter (see handoff_codes); never shown.
    handoff_secret = models.CharField(max_length=32, default=new_handoff_secret, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.site})"

    @property
    def notice_recipient(self) -> str:
        """Where the store's in-app notices go (a driver arrived, parcels left); its Handoff page shows them."""
        return f"store:{self.pk}"


class OpeningHours(models.Model):
    """When a store is open on one weekday, in its site's local time; no row means closed that day."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.UniqueConstraint(fields=["store", "weekday"], name="opening_hours_one_per_weekday"),
            models.CheckConstraint(condition=Q(closes__gt=F("opens")), name="opening_hours_close_after_open"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="opening_hours_weekday_valid"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    """A local date the store is closed although its weekly hours say open (a holiday, an inventory day)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="closure_one_per_day")]

    def __str__(self):
        return f"{self.store} closed {self.date}"


class ApiKeyKind(models.TextChoices):
    SECRET = "secret", "Secret"
    PUBLISHABLE = "publishable", "Publishable"


class ApiKey(TimeStampedModel):
    """A merchant's key for the REST API. Shown once at creation; only its SHA-256 hash is kept.

    A secret key (`mpk_…`) is for the merchant's servers and does everything the API offers. A
    publishable key (`mpk_pub_…`) sits in the merchant's web pages for anyone to read, so it can do
    one thing: ask for delivery quotes, from the web origins it lists (merchants.api.authentication).
    """

    Kind = ApiKeyKind

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SECRET)
    name = models.CharField(max_length=100, help_text="What uses it, e.g. “Website checkout”.")
    # Publishable keys only: origins as browsers send them (scheme://host[:port], lower case, no default port).
    allowed_origins = models.JSONField("web addresses allowed to use it", default=list, blank=True)
    prefix = models.CharField(max_length=12, help_text="The key's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [models.CheckConstraint(condition=Q(kind__in=ApiKeyKind.values), name="api_key_kind_valid")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_publishable(self) -> bool:
        return self.kind == self.Kind.PUBLISHABLE

    def allows_origin(self, origin: str) -> bool:
        """May a web page at `origin` (a request's Origin header) use this publishable key?"""
        return bool(origin) and origin in self.allowed_origins


class IdempotencyKey(models.Model):
    """The first successful response to an API request sent with an Idempotency-Key header.

    A client that retries with the same key and body gets this response again instead of a
    second order; the same key with another body is refused. Kept at least 24 hours.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="idempotency_key_unique_per_merchant")]

    def __str__(self):
        return self.key
