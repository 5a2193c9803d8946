"""Checking new orders against the program's rules, the same way for the form, CSV and the API.

Formats are the caller's job (a form, a serializer); this module owns the rules: the store is
the merchant's, the order number is new, the customer is within the store's radius, the packages
are within limits. Errors are keyed by the field names every intake channel shares.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from common.compiled import CompiledInstances, CompiledRead
from common.distance import miles_between
from common.geocoding import GeocodingError, geocode
from merchants.models import Merchant, Store
from webhooks.services import merchant_listens

from .models import MAX_PACKAGE_SIDE_IN, MAX_PACKAGE_WEIGHT_LB, MAX_PACKAGES, Order, Quote

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
# Notes are read by a driver on a phone at the door: a few sentences, not a document.
MAX_NOTES_LENGTH = 500
# Coordinates sent with an order may refine where its ZIP code puts the customer, never move them: a point
# farther than this from the ZIP code's centre is not in that ZIP code. ZIP centres lie a median 4.6 miles
# from their nearest neighbour (95% within 11.3 miles), so any address of nearly every ZIP code fits, while
# a point in another town, as New York's ZIP code with Chandler's coordinates, does not.
MAX_COORDINATE_OFFSET_MILES = 15


# Read for every new order (the API's create above all): compiled once (common.compiled).
# Each store comes with its site and whether its merchant listens (its new orders' events need not ask).
_stores_named = CompiledInstances(
    Store,
    lambda merchant_id, store_ids: Store.objects.filter(
        merchant_id=merchant_id, is_active=True, pk__in=store_ids
    ).annotate(merchant_listens=merchant_listens()),
    related=("site",),
    merchant_id=-1,
    store_ids=[-1000],  # from -1000 down: never the merchant sample
)
_numbers_in_use = CompiledRead(
    lambda merchant_id, numbers: Order.objects.filter(merchant_id=merchant_id, external_id__in=numbers).values(
        "external_id"
    ),
    merchant_id=-1,
    numbers=["sample order number"],
)


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
    quote_id: int | None = None
    # Filled in by the checks: the store, where the customer is, the quote if still valid.
    store: Store | None = field(default=None, repr=False)
    distance_miles: Decimal | None = None
    quote: Quote | None = field(default=None, repr=False)


def check_drafts(
    *, merchant: Merchant, drafts: list[OrderDraft], numbers_in_use: bool = True
) -> dict[int, dict[str, list[str]]]:
    """Check every draft; return {draft index: {field: [messages]}} for those that break a rule.

    At most three queries whatever the number of drafts: the stores, the quotes named (if any), and the
    order numbers in use unless `numbers_in_use` is false (a caller that lets the unique constraint find them).
    """
    store_ids = sorted({draft.store_id for draft in drafts})
    stores = {store.pk: store for store in _stores_named(merchant_id=merchant.pk, store_ids=store_ids)}
    quoted = {draft.quote_id for draft in drafts if draft.quote_id is not None}  # most orders name no quote
    quotes = {quote.pk: quote for quote in Quote.objects.filter(merchant=merchant, pk__in=quoted)} if quoted else {}
    numbers = sorted({draft.external_id for draft in drafts})
    taken = set()
    if numbers_in_use:
        taken = {row["external_id"] for row in _numbers_in_use(merchant_id=merchant.pk, numbers=numbers)}
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
        problems.update(_honour_quote(draft, quotes))
        if draft.store is not None:
            problems.update(_place(draft))
        if problems:
            errors[index] = problems
    return errors


def _honour_quote(draft: OrderDraft, quotes: dict[int, Quote]) -> dict[str, list[str]]:
    """A quote from this checkout, for the same store and service, is honoured until it expires."""
    if draft.quote_id is None:
        return {}
    quote = quotes.get(draft.quote_id)
    if quote is None:
        return {"quote": ["There is no such quote in your account."]}
    if quote.store_id != draft.store_id or quote.service_level != draft.service_level:
        return {"quote": ["This quote was given for another store or service level."]}
    draft.quote = quote if quote.expires_at > timezone.now() else None
    return {}


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
    sizes = [problem for number, package in enumerate(packages, start=1) if (problem := _size_problem(number, package))]
    problems = heavy + light + sizes
    return {"packages": problems} if problems else {}


def _size_problem(number: int, package: PackageDraft) -> str:
    sides = [package.length_in, package.width_in, package.height_in]
    given = [side for side in sides if side is not None]
    if not given:
        return ""
    if len(given) < 3:
        return f"Package {number}: give length, width and height, or none of them."
    if not all(0 < side <= MAX_PACKAGE_SIDE_IN for side in given):
        return f"Package {number}: each side must be more than 0 and at most {MAX_PACKAGE_SIDE_IN} inches."
    return ""


@dataclass
class Destination:
    """Where a customer is, seen from a store: coordinates, straight-line miles, and any problem."""

    latitude: Decimal | None = None
    longitude: Decimal | None = None
    miles: Decimal | None = None
    timezone: str = ""
    problems: dict[str, list[str]] = field(default_factory=dict)


def locate(*, store: Store, postal_code: str, latitude=None, longitude=None) -> Destination:
    """Where the customer is and how far from the store's site. The ZIP code decides; coordinates, if
    given, only refine it within MAX_COORDINATE_OFFSET_MILES of the ZIP code's centre, so a client cannot
    bring a far address inside the radius. Problems are worded for the merchant, with the distances."""
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        return Destination(problems={missing: ["Give both coordinates, or neither."]})
    try:
        point = geocode(postal_code)
    except GeocodingError as error:
        return Destination(problems={"postal_code": [str(error)]})
    if latitude is None:
        latitude, longitude = point.latitude, point.longitude
    offset = _miles(point.latitude, point.longitude, latitude, longitude)
    if offset > MAX_COORDINATE_OFFSET_MILES:
        return Destination(
            problems={
                "latitude": [
                    f"These coordinates are {_plain(offset)} miles from ZIP code {postal_code}; coordinates may "
                    f"only refine the address, within {MAX_COORDINATE_OFFSET_MILES} miles of its ZIP code. "
                    "Check the ZIP code and the coordinates, or leave the coordinates out."
                ]
            }
        )
    site, radius = store.site, store.service_radius_miles
    miles = _miles(site.latitude, site.longitude, latitude, longitude)
    destination = Destination(latitude, longitude, miles, point.timezone)
    if miles > radius:
        destination.problems["delivery_address"] = [
            f"The address is {_plain(miles)} miles from {store.name}; "
            f"this store delivers within {_plain(radius)} miles."
        ]
    return destination


def _miles(lat1, lng1, lat2, lng2) -> Decimal:
    return Decimal(miles_between(lat1, lng1, lat2, lng2)).quantize(Decimal("0.1"))


def _place(draft: OrderDraft) -> dict[str, list[str]]:
    destination = locate(
        store=draft.store, postal_code=draft.postal_code, latitude=draft.latitude, longitude=draft.longitude
    )
    draft.latitude, draft.longitude, draft.distance_miles = (
        destination.latitude,
        destination.longitude,
        destination.miles,
    )
    return destination.problems


def _plain(number: Decimal) -> str:
    """10.0 -> "10", 2.50 -> "2.5": numbers as a person writes them."""
    return format(number.normalize(), "f")
