"""Checking new orders against the program's rules, the same way for the form, CSV and the API.

Formats are the caller's job (a form, a serializer); this module owns the rules: the store is
the merchant's, the order number is new, the customer is within the store's radius, the packages
are within limits. Errors are keyed by the field names every intake channel shares.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from common.distance import miles_between
from common.geocoding import GeocodingError, geocode
from merchants.models import Merchant, Store

from .models import MAX_PACKAGE_WEIGHT_LB, MAX_PACKAGES, Order

# The fields of an order as every channel names them (form fields, CSV columns, API attributes).
ORDER_FIELDS = [
    "store",
    "external_id",
    "service_level",
    "customer_name",
    "customer_phone",
    "customer_email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "latitude",
    "longitude",
    "notes",
]
PACKAGE_FIELDS = ["weight_lb", "length_in", "width_in", "height_in"]


@dataclass
class PackageDraft:
    weight_lb: Decimal
    length_in: Decimal | None = None
    width_in: Decimal | None = None
    height_in: Decimal | None = None


@dataclass
class OrderDraft:
    """An order as submitted, before the rules are checked."""

    store_id: int
    external_id: str
    service_level: str
    customer_name: str
    customer_phone: str
    address_line1: str
    city: str
    state: str
    postal_code: str
    packages: list[PackageDraft]
    customer_email: str = ""
    address_line2: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    notes: str = ""
    # Filled in by the checks: the store, and where the customer is.
    store: Store | None = field(default=None, repr=False)
    distance_miles: Decimal | None = None


def check_drafts(*, merchant: Merchant, drafts: list[OrderDraft]) -> dict[int, dict[str, list[str]]]:
    """Check every draft; return {draft index: {field: [messages]}} for those that break a rule.

    Runs two queries whatever the number of drafts (the stores, the order numbers in use).
    """
    stores = {
        store.pk: store
        for store in Store.objects.filter(
            merchant=merchant, is_active=True, pk__in={draft.store_id for draft in drafts}
        ).select_related("site")
    }
    numbers = [draft.external_id for draft in drafts]
    taken = set(Order.objects.filter(merchant=merchant, external_id__in=numbers).values_list("external_id", flat=True))
    seen: set[str] = set()
    errors = {}
    for index, draft in enumerate(drafts):
        problems: dict[str, list[str]] = {}
        draft.store = stores.get(draft.store_id)
        if draft.store is None:
            problems["store"] = ["There is no such store in your account."]
        if draft.external_id in taken:
            problems["external_id"] = [f"You already have an order numbered “{draft.external_id}”."]
        elif draft.external_id in seen:
            problems["external_id"] = [f"The order number “{draft.external_id}” appears twice in this upload."]
        seen.add(draft.external_id)
        problems.update(_package_problems(draft.packages))
        if draft.store is not None:
            problems.update(_place(draft))
        if problems:
            errors[index] = problems
    return errors


def _package_problems(packages: list[PackageDraft]) -> dict[str, list[str]]:
    if not 1 <= len(packages) <= MAX_PACKAGES:
        return {"packages": [f"An order has 1 to {MAX_PACKAGES} packages; this one has {len(packages)}."]}
    heavy = [
        f"Package {number} weighs {_plain(package.weight_lb)} lb; we carry packages up to {MAX_PACKAGE_WEIGHT_LB} lb."
        for number, package in enumerate(packages, start=1)
        if package.weight_lb > MAX_PACKAGE_WEIGHT_LB
    ]
    light = [
        f"Package {number} needs a weight above 0 lb."
        for number, package in enumerate(packages, start=1)
        if package.weight_lb <= 0
    ]
    return {"packages": heavy + light} if heavy or light else {}


def _place(draft: OrderDraft) -> dict[str, list[str]]:
    """Coordinates (given, or from the ZIP code) and the distance from the store's site."""
    if (draft.latitude is None) != (draft.longitude is None):
        missing = "longitude" if draft.longitude is None else "latitude"
        return {missing: ["Give both coordinates, or neither."]}
    if draft.latitude is None:
        try:
            point = geocode(draft.postal_code)
        except GeocodingError as error:
            return {"postal_code": [str(error)]}
        draft.latitude, draft.longitude = point.latitude, point.longitude
    site, radius = draft.store.site, draft.store.service_radius_miles
    miles = Decimal(miles_between(site.latitude, site.longitude, draft.latitude, draft.longitude)).quantize(
        Decimal("0.1")
    )
    draft.distance_miles = miles
    if miles > radius:
        return {
            "delivery_address": [
                f"The address is {_plain(miles)} miles from {draft.store.name}; "
                f"this store delivers within {_plain(radius)} miles."
            ]
        }
    return {}


def _plain(number: Decimal) -> str:
    """10.0 -> "10", 2.50 -> "2.5": numbers as a person writes them."""
    return format(number.normalize(), "f")
