"""The demo world: the three pilot malls, a few shops, a standalone store and their logins,
and a pickup a driver has accepted that can be tried at once.

Everything is looked up by a natural key before it is created, so seeding twice changes nothing.
"""

import functools
from datetime import date, time, timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher, make_password
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.text import slugify

from common.actors import SYSTEM
from deliveries.models import Driver
from deliveries.services import offer_accept, window_offer_wave
from demo.history import history_seed
from merchants.models import ApiKey, Closure, Membership, Merchant, OpeningHours, Site, Store
from merchants.services import api_key_create, api_key_exists, api_key_for_raw
from pickups.intake import OrderDraft, PackageDraft
from pickups.ledger import order_move, orders_save, orders_transition
from pickups.models import Order, Package, PickupWindow
from pickups.services import orders_create
from pickups.window_states import windows_save_bookings
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
    history_seed()  # past orders for the dashboard, after the stores' first orders (made only for stores with none)
    orders_assign()
    return {
        "admin": {"username": ADMIN["username"], "password": ADMIN["password"]},
        "merchants": credentials,
        "drivers": drivers,
        "pickup": _demo_pickup(sites[PICKUP_SITE]),
    }


CUSTOMERS = [("Jamie Rivera", "2.5"), ("Pat Nguyen", "1"), ("Morgan Lee", "4")]


def _orders(store):
    """Three orders a store: two still being packed, one ready for pickup."""
    drafts = [
        _draft(store, f"DEMO-{store.pk}-{number}", number, name, [weight])
        for number, (name, weight) in enumerate(CUSTOMERS, start=1)
    ]
    orders = orders_create(merchant=store.merchant, drafts=drafts, actor=SYSTEM)
    orders_transition(orders=orders[-1:], to=Order.Status.READY, actor=SYSTEM)


def _draft(store, external_id, number, customer, weights) -> OrderDraft:
    """A same-day order to a customer `number` times two miles north of the store's site."""
    return OrderDraft(
        store_id=store.pk,
        external_id=external_id,
        service_level="same_day",
        customer_name=customer,
        customer_phone="555-0100",
        address_line1=f"{100 + number} Main St",
        city=store.site.city,
        state=store.site.state,
        postal_code=store.site.postal_code,
        latitude=store.site.latitude + MILE_OF_LATITUDE * 2 * number,
        longitude=store.site.longitude,
        packages=[PackageDraft(weight_lb=Decimal(weight)) for weight in weights],
    )


# The pickup to try: Luis has accepted a window at Chandler that starts 20 minutes after seeding,
# so he can check in at once (from ARRIVE_EARLY_MINUTES before the start), with these orders.
PICKUP_SITE = "Chandler Fashion Center"
PICKUP_DRIVER = "luis.ortega"
PICKUP_STARTS_IN = timedelta(minutes=20)
PICKUP_ORDERS = [  # store, customer, package weights (lb)
    ("Desert Bloom Chandler", "Avery Cole", ["3", "1.5"]),
    ("Desert Bloom Chandler", "Jordan Park", ["2"]),
    ("Capital Kicks Chandler", "Casey Morgan", ["4"]),
]


def _demo_pickup(site) -> dict:
    """Luis's current pickup if he has one (accepted or under way, not over), else a new one.

    Any such pickup of his is reused, seeded or taken by hand: he could not be given a second
    one at the same time, and seeding again must add nothing while the first can still be tried.
    """
    driver = Driver.objects.select_related("user").get(user__username=PICKUP_DRIVER)
    now = timezone.now()
    window = (
        PickupWindow.objects.filter(
            driver=driver,
            status__in=[PickupWindow.Status.ACCEPTED, PickupWindow.Status.IN_PROGRESS],
            ends_at__gt=now,
        )
        .order_by("starts_at")
        .first()
    ) or _new_pickup(site, driver, now)
    return _pickup_card(window)


def _new_pickup(site, driver, now) -> PickupWindow:
    """A window starting soon, its orders made and scheduled into it, offered to drivers and accepted by Luis.

    The normal assignment (`orders_assign`) only uses windows at least PICKUP_LEAD_MINUTES ahead and
    while the stores are open, so it would never pick this window, and not at night. The orders are
    scheduled into it directly through the ledger, as the assignment itself writes them.
    """
    starts = (now + PICKUP_STARTS_IN).replace(second=0, microsecond=0)
    if site.pickup_windows.filter(starts_at=starts).exists():  # a planned window starts that very minute
        starts += timedelta(minutes=1)
    window = PickupWindow.objects.create(
        site=site,
        local_date=timezone.localdate(starts, timezone=ZoneInfo(site.timezone)),
        starts_at=starts,
        ends_at=starts + timedelta(minutes=site.window_minutes),
        capacity_packages=site.window_capacity_packages,
    )
    stores = {store.name: store for store in Store.objects.filter(site=site).select_related("merchant", "site")}
    created = []
    for number, (store_name, customer, weights) in enumerate(PICKUP_ORDERS, start=1):
        store = stores[store_name]
        draft = _draft(store, f"PICKUP-{window.pk}-{number}", number, customer, weights)
        created += orders_create(merchant=store.merchant, drafts=[draft], actor=SYSTEM)
    orders, _ = orders_transition(orders=created, to=Order.Status.READY, actor=SYSTEM)  # locked, now ready
    now = timezone.now()  # after their "ready" events, so the ledger reads in order
    details = {"window": window.pk, "starts_at": window.starts_at.isoformat(), "site": site.name}
    events = []
    for order in orders:
        order.pickup_window, order.not_scheduled_reason = window, ""
        events.append(order_move(order, to=Order.Status.SCHEDULED, actor=SYSTEM, at=now, details=details))
    window.booked_packages = Package.objects.filter(order__in=orders).count()
    windows_save_bookings([window])  # the window is new in this transaction: nobody else can book it
    orders_save(orders, events)

    offers = window_offer_wave(window_id=window.pk, now=now)
    offer = next((offer for offer in offers if offer.driver_id == driver.pk), None)
    if offer is None:
        raise RuntimeError(f"{PICKUP_DRIVER} was not offered the demo pickup: is the driver still active?")
    offer_accept(offer=offer, driver=driver, now=now)
    window.refresh_from_db()
    return window


def _pickup_card(window) -> dict:
    """What `seed_demo` prints about the pickup: where, when, who, and each store's labels still to scan."""
    orders = list(
        Order.objects.filter(pickup_window=window, status=Order.Status.SCHEDULED)
        .select_related("store")
        .prefetch_related("packages")
        .order_by("store__name", "pk")
    )
    owners = dict(
        Membership.objects.filter(
            role=Membership.Role.OWNER, merchant_id__in={order.merchant_id for order in orders}
        ).values_list("merchant_id", "user__email")
    )
    stores = {}
    for order in orders:
        store = stores.setdefault(
            order.store_id,
            {
                "store": order.store.name,
                "handoff_page": f"/stores/{order.store_id}/handoff/",
                "login": owners.get(order.merchant_id, ""),
                "password": DEMO_PASSWORD,
                "labels": [],
            },
        )
        store["labels"] += [package.label_code for package in order.packages.all() if package.collected_at is None]
    local = timezone.localtime(window.starts_at, ZoneInfo(window.site.timezone))
    return {
        "window": window.pk,
        "site": window.site.name,
        "starts_at": window.starts_at.isoformat(),
        "starts_local": date_format(local, "D M j, g:i A T"),
        "status": window.get_status_display(),
        "driver": {"username": PICKUP_DRIVER, "password": DRIVER_PASSWORD},
        "page": reverse("driver_window", args=[window.pk]),
        "stores": list(stores.values()),
    }


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
        "publishable_key": _publishable_key(merchant),
    }


def _api_key(merchant) -> str:
    """A known key per demo merchant, so scripts can use it after any number of seedings."""
    raw = f"mpk_demo_{slugify(merchant.display_name)}"
    if not api_key_exists(raw):
        api_key_create(merchant=merchant, name="Demo key", created_by=None, raw=raw)
    return raw


# The checkout widget's demo page (/embed/demo/, development only) shows this shop's publishable key at work,
# from the portal's own pages: its usual addresses under `make run`, and PORTAL_URL's.
WIDGET_DEMO_MERCHANT = "Desert Bloom Boutique"
WIDGET_DEMO_STORE = "Desert Bloom Chandler"
PUBLISHABLE_KEY_ORIGINS = ["http://localhost:8000", "http://127.0.0.1:8000"]


def _publishable_raw(merchant) -> str:
    return f"mpk_pub_demo_{slugify(merchant.display_name)}"


def _publishable_key(merchant) -> str:
    """A known publishable key per demo merchant, for the widget on the portal's own pages."""
    raw = _publishable_raw(merchant)
    if not api_key_exists(raw):
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(settings.PORTAL_URL))
        api_key_create(
            merchant=merchant,
            name="Demo checkout widget",
            created_by=None,
            kind=ApiKey.Kind.PUBLISHABLE,
            allowed_origins=[*PUBLISHABLE_KEY_ORIGINS, origin],
            raw=raw,
        )
    return raw


def widget_demo() -> dict | None:
    """What the widget's demo page shows: the demo store and its merchant's publishable key (the full key,
    known because demo keys are), or None until `seed_demo` has run."""
    store = (
        Store.objects.filter(merchant__display_name=WIDGET_DEMO_MERCHANT, name=WIDGET_DEMO_STORE)
        .select_related("merchant", "site")
        .first()
    )
    if store is None:
        return None
    raw = _publishable_raw(store.merchant)
    api_key = api_key_for_raw(raw)
    if api_key is None or not api_key.is_active:
        return None
    return {"store": store, "key": raw, "api_key": api_key}


def _user(username, email, full_name, password, staff=False):
    first, _, last = full_name.partition(" ")
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"email": email, "first_name": first, "last_name": last, "is_staff": staff, "is_superuser": staff},
    )
    if created:
        user.password = _hashed(password)
        user.save(update_fields=["password"])
    return user


# The demo passwords as Django 5.2's default hasher stores them (PBKDF2-SHA256, 1,000,000 iterations), made once:
# hashing them took 1.4 s of every new seeding. They are published above, so a fixed salt gives nothing away.
PASSWORD_HASHES = {
    ADMIN["password"]: "pbkdf2_sha256$1000000$ufMVDvwOrdwyqK96tEFNgA$JF4UHXSVDZEjDHGPvfsEODKqsYaxYY2xm9SOo4VF0YA=",
    DEMO_PASSWORD: "pbkdf2_sha256$1000000$PcYlOH1MInrnivdn3oN78o$9C7fWu2dTvrjfEvWoLo0/mBQSmhzmH4FCEWFGA/F5Q0=",
    DRIVER_PASSWORD: "pbkdf2_sha256$1000000$DerRl0KGjymmdN8EEet4Tv$nNOBXRbHbCQyYA09V6+/siZ8i8D8r+jOpG5SdXC/qoY=",
}


@functools.cache
def _hashed(password: str) -> str:
    """Demo logins share three passwords: each is hashed once (a hash takes a good part of a second, by design),
    or not at all while the hash made in advance is what the configured hasher would store."""
    known, hasher = PASSWORD_HASHES.get(password, ""), get_hasher()
    if known.startswith(f"{hasher.algorithm}$") and not hasher.must_update(known):
        return known
    return make_password(password)


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
