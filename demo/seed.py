"""The demo world: the three pilot malls, a few shops, a standalone store and their logins.

Everything is looked up by a natural key before it is created, so seeding twice changes nothing.
"""

from datetime import date, time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from common.actors import SYSTEM
from deliveries.models import Driver
from merchants.models import Closure, Membership, Merchant, OpeningHours, Site, Store
from merchants.services import api_key_create, api_key_exists
from pickups.intake import OrderDraft, PackageDraft
from pickups.ledger import orders_transition
from pickups.models import Order
from pickups.services import orders_create
from pickups.windows import orders_assign, windows_plan

User = get_user_model()

ADMIN = {"username": "admin", "email": "admin@mallpickup.example", "password": "admin-demo-2026"}

MALLS = [
    {
        "name": "Chandler Fashion Center",
        "address_line1": "3111 W Chandler Blvd",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85226",
        "latitude": Decimal("33.301700"),
        "longitude": Decimal("-111.897000"),
        "timezone": "America/Phoenix",
    },
    {
        "name": "Fashion Show Las Vegas",
        "address_line1": "3200 S Las Vegas Blvd",
        "city": "Las Vegas",
        "state": "NV",
        "postal_code": "89109",
        "latitude": Decimal("36.127500"),
        "longitude": Decimal("-115.171000"),
        "timezone": "America/Los_Angeles",
    },
    {
        "name": "Tysons Corner Center",
        "address_line1": "1961 Chain Bridge Rd",
        "city": "Tysons",
        "state": "VA",
        "postal_code": "22102",
        "latitude": Decimal("38.917800"),
        "longitude": Decimal("-77.222100"),
        "timezone": "America/New_York",
    },
]

MALL_HOURS = {weekday: (time(10), time(21)) for weekday in range(6)} | {6: (time(11), time(18))}
MALL_CLOSURES = [(date(2026, 11, 26), "Thanksgiving"), (date(2026, 12, 25), "Christmas Day")]

MERCHANTS = [
    {
        "name": "Desert Bloom Boutique",
        "owner": ("Rosa Delgado", "rosa@desertbloom.example"),
        "stores": [("Desert Bloom Chandler", "Chandler Fashion Center", "1120")],
    },
    {
        "name": "Neon Threads",
        "owner": ("Marcus Bell", "marcus@neonthreads.example"),
        "stores": [("Neon Threads Fashion Show", "Fashion Show Las Vegas", "2215")],
    },
    {
        "name": "Capital Kicks",
        "owner": ("Priya Shah", "priya@capitalkicks.example"),
        "stores": [
            ("Capital Kicks Tysons", "Tysons Corner Center", "E-2F"),
            ("Capital Kicks Chandler", "Chandler Fashion Center", "2040"),
        ],
    },
]

STANDALONE = {
    "merchant": "Saguaro Books",
    "owner": ("Dana Whitfield", "dana@saguarobooks.example"),
    "site": {
        "name": "Saguaro Books",
        "kind": Site.Kind.STANDALONE,
        "address_line1": "58 W Buffalo St",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85225",
        "latitude": Decimal("33.302900"),
        "longitude": Decimal("-111.842400"),
        "timezone": "America/Phoenix",
    },
    "hours": {weekday: (time(9), time(18)) for weekday in range(1, 7)},
}

DEMO_PASSWORD = "shop-demo-2026"
DRIVER_PASSWORD = "drive-demo-2026"

# Three drivers around each mall: (first and last name, miles north of the mall, vehicle).
DRIVERS = {
    "Chandler Fashion Center": [("Luis Ortega", 1.5, "car"), ("Kim Tran", 4, "suv"), ("Sam Becker", 8, "minivan")],
    "Fashion Show Las Vegas": [("Ava Brooks", 2, "car"), ("Omar Haddad", 5, "pickup"), ("Rita Moreno", 9, "suv")],
    "Tysons Corner Center": [("Grace Kim", 1, "car"), ("Ben Carter", 6, "van"), ("Nia Johnson", 7, "car")],
}
MILE_OF_LATITUDE = Decimal("0.014493")


@transaction.atomic
def seed_demo() -> dict:
    """Create whatever part of the demo world is missing; return every demo credential."""
    _user(ADMIN["username"], ADMIN["email"], "Program Admin", ADMIN["password"], staff=True)
    sites = {mall["name"]: _site(mall | {"kind": Site.Kind.MALL}) for mall in MALLS}
    credentials = []
    for spec in MERCHANTS:
        merchant = _merchant(spec["name"], spec["owner"])
        for store_name, site_name, unit in spec["stores"]:
            _store(merchant, sites[site_name], store_name, unit, MALL_HOURS, MALL_CLOSURES)
        credentials.append(_login(merchant, spec["owner"][1]))
    merchant = _merchant(STANDALONE["merchant"], STANDALONE["owner"])
    _store(merchant, _site(STANDALONE["site"]), STANDALONE["merchant"], "", STANDALONE["hours"], [])
    credentials.append(_login(merchant, STANDALONE["owner"][1]))
    specs = [(sites[mall], *spec) for mall, mall_specs in DRIVERS.items() for spec in mall_specs]
    drivers = [_driver(number, *spec) for number, spec in enumerate(specs, start=1)]
    windows_plan()
    for store in Store.objects.filter(orders__isnull=True).select_related("site", "merchant"):
        _orders(store)
    orders_assign()
    return {
        "admin": {"username": ADMIN["username"], "password": ADMIN["password"]},
        "merchants": credentials,
        "drivers": drivers,
    }


CUSTOMERS = [("Jamie Rivera", "2.5"), ("Pat Nguyen", "1"), ("Morgan Lee", "4")]


def _orders(store):
    """Three orders a store: two still being packed, one ready for pickup."""
    drafts = [
        OrderDraft(
            store_id=store.pk,
            external_id=f"DEMO-{store.pk}-{number}",
            service_level="same_day",
            customer_name=name,
            customer_phone="555-0100",
            address_line1=f"{100 + number} Main St",
            city=store.site.city,
            state=store.site.state,
            postal_code=store.site.postal_code,
            latitude=store.site.latitude + MILE_OF_LATITUDE * 2 * number,
            longitude=store.site.longitude,
            packages=[PackageDraft(weight_lb=Decimal(weight))],
        )
        for number, (name, weight) in enumerate(CUSTOMERS, start=1)
    ]
    orders = orders_create(merchant=store.merchant, drafts=drafts, actor=SYSTEM)
    orders_transition(orders=orders[-1:], to=Order.Status.READY, actor=SYSTEM)


def _driver(number, site, full_name, miles_north, vehicle):
    username = slugify(full_name).replace("-", ".")
    user = _user(username, f"{username}@drivers.example", full_name, DRIVER_PASSWORD)
    Driver.objects.get_or_create(
        user=user,
        defaults={
            "phone": f"+1555010{number:04d}",
            "vehicle_type": vehicle,
            "home_latitude": site.latitude + MILE_OF_LATITUDE * Decimal(miles_north),
            "home_longitude": site.longitude,
            "status": Driver.Status.ACTIVE,
        },
    )
    return {"driver": full_name, "site": site.name, "username": username, "password": DRIVER_PASSWORD}


def _login(merchant, username):
    return {
        "merchant": merchant.display_name,
        "username": username,
        "password": DEMO_PASSWORD,
        "api_key": _api_key(merchant),
    }


def _api_key(merchant) -> str:
    """A known key per demo merchant, so scripts can use it after any number of seedings."""
    raw = f"mpk_demo_{slugify(merchant.display_name)}"
    if not api_key_exists(raw):
        api_key_create(merchant=merchant, name="Demo key", created_by=None, raw=raw)
    return raw


def _user(username, email, full_name, password, staff=False):
    first, _, last = full_name.partition(" ")
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"email": email, "first_name": first, "last_name": last, "is_staff": staff, "is_superuser": staff},
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _site(fields):
    site, _ = Site.objects.get_or_create(name=fields["name"], defaults=fields)
    return site


def _merchant(name, owner):
    owner_name, email = owner
    merchant, _ = Merchant.objects.get_or_create(
        display_name=name,
        defaults={
            "legal_name": f"{name} LLC",
            "contact_name": owner_name,
            "contact_email": email,
            "status": Merchant.Status.APPROVED,
            "approved_at": timezone.now(),
        },
    )
    user = _user(email, email, owner_name, DEMO_PASSWORD)
    Membership.objects.get_or_create(user=user, defaults={"merchant": merchant, "role": Membership.Role.OWNER})
    return merchant


def _store(merchant, site, name, unit, hours, closures):
    store, created = Store.objects.get_or_create(
        merchant=merchant,
        name=name,
        defaults={"site": site, "unit": unit, "pickup_instructions": "Ask at the counter for the pickup shelf."},
    )
    if created:
        OpeningHours.objects.bulk_create(
            OpeningHours(store=store, weekday=weekday, opens=opens, closes=closes)
            for weekday, (opens, closes) in hours.items()
        )
        Closure.objects.bulk_create(Closure(store=store, date=day, reason=reason) for day, reason in closures)
    return store
