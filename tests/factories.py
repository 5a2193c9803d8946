import itertools
from datetime import time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from django.contrib.auth import get_user_model

from merchants.models import Membership, Merchant, OpeningHours, Site, Store

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    email = factory.Sequence(lambda n: f"user{n}@shop.example")
    username = factory.SelfAttribute("email")
    first_name = "Sam"
    password = factory.django.Password(PASSWORD)


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    display_name = factory.Sequence(lambda n: f"Shop {n}")
    legal_name = factory.LazyAttribute(lambda m: f"{m.display_name} LLC")
    contact_name = "Sam Owner"
    contact_email = factory.Sequence(lambda n: f"owner{n}@shop.example")
    status = Merchant.Status.APPROVED


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    merchant = factory.SubFactory(MerchantFactory)
    role = Membership.Role.OWNER


class SiteFactory(factory.django.DjangoModelFactory):
    """Chandler Fashion Center unless told otherwise: a mall in Arizona, which has no DST."""

    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"Mall {n}")
    kind = Site.Kind.MALL
    address_line1 = "3111 W Chandler Blvd"
    city = "Chandler"
    state = "AZ"
    postal_code = "85226"
    latitude = Decimal("33.301700")
    longitude = Decimal("-111.897000")
    timezone = "America/Phoenix"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        skip_postgeneration_save = True

    merchant = factory.SubFactory(MerchantFactory)
    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Store {n}")
    unit = "101"

    @factory.post_generation
    def hours(store, create, extracted, **kwargs):
        """Open 10:00-21:00 every day unless `hours={weekday: (opens, closes)}` is given."""
        if not create:
            return
        hours = extracted if extracted is not None else {day: (time(10), time(21)) for day in range(7)}
        OpeningHours.objects.bulk_create(
            OpeningHours(store=store, weekday=day, opens=opens, closes=closes) for day, (opens, closes) in hours.items()
        )


def order_draft(store, number=None, packages=1, **overrides):
    """A valid order for `store`, delivered half a mile from its site."""
    from pickups.intake import OrderDraft, PackageDraft

    fields = {
        "store_id": store.pk,
        "external_id": number or f"ORD-{next(_order_numbers)}",
        "service_level": "same_day",
        "customer_name": "Jamie Rivera",
        "customer_phone": "480-555-0199",
        "customer_email": "jamie@example.com",
        "address_line1": "100 N Arizona Ave",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85225",
        "latitude": store.site.latitude + Decimal("0.005"),
        "longitude": store.site.longitude,
        "packages": [PackageDraft(weight_lb=Decimal("2.5")) for _ in range(packages)],
    }
    return OrderDraft(**(fields | overrides))


def make_orders(store, count=1, **overrides):
    """Orders created through the intake service, in one batch."""
    from common.actors import SYSTEM
    from pickups.services import orders_create

    return orders_create(
        merchant=store.merchant, drafts=[order_draft(store, **overrides) for _ in range(count)], actor=SYSTEM
    )


_order_numbers = itertools.count(1000)


class DriverFactory(factory.django.DjangoModelFactory):
    """An active driver living a mile from Chandler Fashion Center."""

    class Meta:
        model = "deliveries.Driver"

    user = factory.SubFactory(UserFactory, first_name="Dee")
    phone = factory.Sequence(lambda n: f"+1480555{n:04d}")
    vehicle_type = "car"
    vehicle_description = "Silver sedan"
    capacity_packages = 40
    home_latitude = Decimal("33.316000")
    home_longitude = Decimal("-111.897000")
    status = "active"


class WindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pickups.PickupWindow"

    site = factory.SubFactory(SiteFactory)
    local_date = factory.LazyAttribute(lambda w: w.starts_at.astimezone(ZoneInfo(w.site.timezone)).date())
    starts_at = factory.LazyFunction(lambda: _now() + timedelta(hours=3))
    ends_at = factory.LazyAttribute(lambda w: w.starts_at + timedelta(hours=2))
    capacity_packages = 60


def _now():
    from django.utils import timezone

    return timezone.now()
