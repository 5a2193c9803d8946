"""What the benchmarks build alike: the merchant, the mall at Chandler and the customer. Imported by each
script after its own `django.setup()` (each sets its settings first)."""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from merchants.models import Merchant, Site

# Chandler Fashion Center, AZ (UTC-7 all year: Arizona has no daylight saving time).
CHANDLER = (Decimal("33.301700"), Decimal("-111.897000"))
MALL = {
    "address_line1": "3111 W Chandler Blvd",
    "city": "Chandler",
    "state": "AZ",
    "postal_code": "85226",
    "timezone": "America/Phoenix",
}
# The customer of every bench order, under the names every channel gives the fields (pickups.intake).
CUSTOMER = {
    "customer_name": "Jamie Rivera",
    "customer_phone": "480-555-0199",
    "customer_email": "jamie@example.com",
    "address_line1": "100 N Arizona Ave",
    "city": "Chandler",
    "state": "AZ",
    "postal_code": "85225",
}


def merchant_approved(*, at: datetime | None = None) -> Merchant:
    return Merchant.objects.create(
        legal_name="Bench Goods LLC",
        display_name="Bench Goods",
        contact_name="Bea Bench",
        contact_email="owner@bench.example",
        status=Merchant.Status.APPROVED,
        approved_at=at or timezone.now(),
    )


def chandler_mall(name: str) -> Site:
    return Site.objects.create(name=name, latitude=CHANDLER[0], longitude=CHANDLER[1], **MALL)
