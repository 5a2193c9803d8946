"""A few weeks of past orders for each demo store, so the dashboard's figures and charts mean something.

Each past order lives a plausible life through the ledger's own moves (`order_move`, `order_event`),
replayed in memory at past times: made, ready, scheduled into a past pickup window, collected by the
driver (on time, late, left at the counter or after a missed pickup), delivered or failed and returned
over the counter, then sent out again, collected in the store or cancelled; a few are cancelled before
they leave. The windows (completed or missed, with their own events) are shared by a site's stores.
Everything is written in bulk and the events are sealed by `events_append`, so every custody chain
verifies (`manage.py verify_ledger`).

Orders are named `H<store>-<yyyymmdd>-<n>`: a day a store already has is skipped, so seeding again adds
nothing on the same day, and the days since the last seeding on a later one. Lives are drawn from a
random generator seeded by the store's name and the day, so a day's story is the same whenever and in whatever
database it is seeded (not by ids, which differ from one database to another).
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.actors import SYSTEM, Actor
from common.bulk import rows_update
from common.distance import miles_between
from deliveries.models import Driver
from merchants.models import Store
from pickups.ledger import events_append, order_event, order_move
from pickups.models import FAILURE_REASONS, Order, OrderEvent, Package, PickupWindow, WindowEvent
from pickups.scheduling import StoreCalendar
from pickups.services import new_tracking_code
from pickups.window_states import check_window_move
from pickups.windows import calendar_of

Status = Order.Status
WindowStatus = PickupWindow.Status

HISTORY_DAYS = 28  # the days before today that get orders
# Past pickups at each site, in its local time: off the hour, so they never meet a planned window.
WINDOW_STARTS = (time(11, 45), time(15, 15))
WINDOW_LENGTH = timedelta(hours=2)
# Orders made on an open day, about (the demo stores by name; others get none).
ORDERS_PER_DAY = {
    "Desert Bloom Chandler": 5,
    "Neon Threads Fashion Show": 6,
    "Capital Kicks Tysons": 4,
    "Capital Kicks Chandler": 3,
    "Saguaro Books": 2,
}
# How often things go wrong.
WINDOW_MISSED = 0.04  # nobody took the pickup
DRIVER_LATE = 0.06  # the driver came after the window's end
LEFT_BEHIND = 0.03  # a parcel was not at the counter when the driver left
CANCELLED_BEFORE_READY = 0.03
DELIVERY_FAILS = 0.1
AFTER_RETURN = (("again", 0.55), ("collected", 0.3), ("cancelled", 0.15))  # what the merchant decides next day

CUSTOMERS = [
    "Jamie Rivera",
    "Pat Nguyen",
    "Morgan Lee",
    "Alex Kim",
    "Taylor Brooks",
    "Riley Chen",
    "Jordan Diaz",
    "Casey Patel",
    "Drew Walker",
    "Quinn Foster",
    "Avery Hughes",
    "Robin Ortiz",
]
STREETS = ["Main St", "Oak Ave", "Elm St", "Park Blvd", "Lake Dr", "Hill Rd", "Cedar Ln", "Maple Ave"]
MILE_OF_LATITUDE = 0.014493
# The demo pickup's driver (demo.seed) is given no past pickups: the demo's one pickup stays his only one.
SPARED_DRIVER = "luis.ortega"


def history_seed(*, now: datetime | None = None) -> int:
    """Give every demo store past orders for its open days of the last HISTORY_DAYS days that have none.
    Returns how many orders were made."""
    now = now or timezone.now()
    stores = list(
        Store.objects.filter(name__in=ORDERS_PER_DAY)
        .select_related("site", "merchant")
        .prefetch_related("opening_hours", "closures")
        .order_by("pk")
    )
    if not stores:
        return 0
    seeded = {
        (store_id, external_id.split("-")[1])
        for store_id, external_id in Order.objects.filter(store__in=stores, external_id__startswith="H").values_list(
            "store_id", "external_id"
        )
    }
    days = {store.pk: _days_to_seed(store, now, seeded) for store in stores}
    if not any(days.values()):
        return 0
    with transaction.atomic():
        return _seed(stores, days, now)


def _days_to_seed(store: Store, now: datetime, seeded: set) -> list[date]:
    today = timezone.localdate(now, timezone=ZoneInfo(store.site.timezone))
    calendar = calendar_of(store)
    days = [today - timedelta(days=n) for n in range(HISTORY_DAYS, 0, -1)]
    return [day for day in days if calendar.is_open_on(day) and (store.pk, f"{day:%Y%m%d}") not in seeded]


@dataclass
class Visit:
    """A past pickup window and what happened to it: the driver came (when, left when) or nobody did."""

    window: PickupWindow
    driver: Driver | None
    arrived: datetime | None = None
    left: datetime | None = None
    events: list[WindowEvent] = field(default_factory=list)
    packages: int = 0
    used: bool = False  # an order was scheduled into it: only those are saved

    @property
    def missed(self) -> bool:
        return self.driver is None


@dataclass
class Life:
    """One past order being replayed: the order in memory, its packages and its ledger events."""

    order: Order
    weights: list[Decimal]
    events: list[OrderEvent] = field(default_factory=list)
    collected_at: datetime | None = None
    returned_at: datetime | None = None


class PastSite:
    """A site's past windows, made on first use and shared by its stores; reads existing ones."""

    def __init__(self, site, drivers: list[Driver], existing: dict[datetime, PickupWindow], cutoff: datetime):
        self.site, self.drivers, self.cutoff = site, drivers, cutoff
        self.zone = ZoneInfo(site.timezone)
        self.visits: dict[datetime, Visit] = {starts: _visit_of(window, drivers) for starts, window in existing.items()}
        self.new: list[Visit] = []

    def window_after(self, moment: datetime, calendar: StoreCalendar) -> Visit | None:
        """The first window starting at least 30 minutes after `moment` on an open day, before the cutoff."""
        day = moment.astimezone(self.zone).date()
        for _ in range(10):
            if calendar.is_open_on(day):
                for start in WINDOW_STARTS:
                    starts = datetime.combine(day, start, tzinfo=self.zone)
                    if starts >= moment + timedelta(minutes=30):
                        if starts + WINDOW_LENGTH >= self.cutoff:
                            return None
                        return self._visit(starts)
            day += timedelta(days=1)
        return None

    def _visit(self, starts: datetime) -> Visit:
        key = starts.astimezone(ZoneInfo("UTC"))
        if key not in self.visits:
            self.visits[key] = _new_visit(self.site, starts, self.drivers)
            self.new.append(self.visits[key])
        return self.visits[key]


def _visit_of(window: PickupWindow, drivers: list[Driver]) -> Visit:
    """An existing past window as a visit (made by an earlier seeding)."""
    driver = next((driver for driver in drivers if driver.pk == window.driver_id), None)
    if window.status != WindowStatus.COMPLETED or driver is None:
        return Visit(window=window, driver=None)
    return Visit(window=window, driver=driver, arrived=window.arrived_at, left=window.completed_at)


def _new_visit(site, starts: datetime, drivers: list[Driver]) -> Visit:
    """A window at `starts` with its fate: missed, or a driver arriving on time or late."""
    rng = random.Random(f"{site.name}:{starts.isoformat()}")
    ends = starts + WINDOW_LENGTH
    window = PickupWindow(
        site=site,
        local_date=starts.date(),
        starts_at=starts,
        ends_at=ends,
        capacity_packages=site.window_capacity_packages,
        created_at=starts - timedelta(days=6),
    )
    offered = starts - timedelta(minutes=120)
    if rng.random() < WINDOW_MISSED or not drivers:
        visit = Visit(window=window, driver=None)
        _window_moves(
            visit, [(WindowStatus.OFFERED, offered, ""), (WindowStatus.MISSED, starts, "No driver accepted.")]
        )
        return visit
    driver = rng.choice(drivers)
    accepted = starts - timedelta(minutes=rng.randint(30, 110))
    if rng.random() < DRIVER_LATE:
        arrived = ends + timedelta(minutes=rng.randint(5, 40))
    else:
        arrived = starts + timedelta(minutes=rng.randint(-10, 45))
    left = arrived + timedelta(minutes=rng.randint(15, 30))
    visit = Visit(window=window, driver=driver, arrived=arrived, left=left)
    window.driver, window.driver_name = driver, driver.first_name
    window.driver_vehicle = driver.get_vehicle_type_display()
    window.accepted_at, window.arrived_at, window.completed_at = accepted, arrived, left
    _window_moves(
        visit,
        [
            (WindowStatus.OFFERED, offered, ""),
            (WindowStatus.ACCEPTED, accepted, ""),
            (WindowStatus.IN_PROGRESS, arrived, ""),
            (WindowStatus.COMPLETED, left, "The driver left."),
        ],
    )
    return visit


def _window_moves(visit: Visit, moves: list[tuple[str, datetime, str]]) -> None:
    """The window's moves, checked against its table of moves, as its ledger events."""
    window = visit.window
    for to, at, reason in moves:
        check_window_move(window, to)
        actor = Actor.of_driver(visit.driver.user) if visit.driver and to != WindowStatus.OFFERED else SYSTEM
        visit.events.append(
            WindowEvent(
                window=window,
                occurred_at=at,
                actor=actor.user,
                actor_label=actor.label,
                from_status=window.status,
                to_status=to,
                reason=reason,
                details={"driver": visit.driver.first_name} if to == WindowStatus.ACCEPTED else {},
            )
        )
        window.status = to


def _seed(stores: list[Store], days: dict[int, list[date]], now: datetime) -> int:
    drivers = list(
        Driver.objects.filter(status=Driver.Status.ACTIVE).exclude(user__username=SPARED_DRIVER).select_related("user")
    )
    sites: dict[int, PastSite] = {}
    lives = []
    for store in stores:
        site = sites.get(store.site_id) or sites.setdefault(store.site_id, _site(store.site, drivers, now))
        calendar = calendar_of(store)
        for day in days[store.pk]:
            lives += [_live(store, draft, site, calendar) for draft in _drafts(store, day)]
    _save(lives, [visit for site in sites.values() for visit in site.new if visit.used])
    return len(lives)


def _site(site, drivers: list[Driver], now: datetime) -> PastSite:
    zone = ZoneInfo(site.timezone)
    cutoff = datetime.combine(timezone.localdate(now, timezone=zone), time(0), tzinfo=zone)
    near = sorted(
        drivers,
        key=lambda driver: miles_between(driver.home_latitude, driver.home_longitude, site.latitude, site.longitude),
    )[:3]
    starts = set(WINDOW_STARTS)
    existing = {
        window.starts_at: window
        for window in PickupWindow.objects.filter(
            site=site, starts_at__gte=cutoff - timedelta(days=HISTORY_DAYS + 1), starts_at__lt=cutoff
        )
        if window.starts_at.astimezone(zone).time() in starts
    }
    return PastSite(site, near, existing, cutoff)


def _drafts(store: Store, day: date) -> list[dict]:
    """The day's orders of the store: who, where, how many parcels, made and ready when (a fixed story)."""
    rng = random.Random(f"{store.name}:{day.isoformat()}")
    zone = ZoneInfo(store.site.timezone)
    opens = datetime.combine(day, calendar_of(store).hours_on(day)[0], tzinfo=zone)
    average = ORDERS_PER_DAY[store.name]
    count = max(1, average + rng.randint(-2, 2))
    drafts = []
    for number in range(1, count + 1):
        created = opens - timedelta(hours=2) + timedelta(minutes=rng.randint(0, 300))
        name = rng.choice(CUSTOMERS)
        north, east = rng.uniform(-5, 5), rng.uniform(-5, 5)
        drafts.append(
            {
                "external_id": f"H{store.pk}-{day:%Y%m%d}-{number:02d}",
                "customer": name,
                "street": f"{rng.randint(100, 9900)} {rng.choice(STREETS)}",
                "latitude": store.site.latitude + Decimal(str(round(north * MILE_OF_LATITUDE, 6))),
                "longitude": store.site.longitude + Decimal(str(round(east * MILE_OF_LATITUDE * 1.2, 6))),
                "weights": [
                    Decimal(str(rng.choice([0.5, 1, 1.5, 2, 3, 4.5, 6]))) for _ in range(rng.choice([1, 1, 1, 2, 3]))
                ],
                "created": created,
                "ready": created + timedelta(minutes=rng.randint(15, 75)),
                "rng": rng,
            }
        )
    return drafts


def _live(store: Store, draft: dict, site: PastSite, calendar: StoreCalendar) -> Life:
    """Replay one order's life through the ledger's moves, in memory, at its past times."""
    rng = draft["rng"]
    distance = miles_between(draft["latitude"], draft["longitude"], store.site.latitude, store.site.longitude)
    order = Order(
        merchant=store.merchant,
        store=store,
        external_id=draft["external_id"],
        service_level=Order.ServiceLevel.SAME_DAY,
        tracking_code=new_tracking_code(),
        customer_name=draft["customer"],
        customer_phone="555-0100",
        address_line1=draft["street"],
        city=store.site.city,
        state=store.site.state,
        postal_code=store.site.postal_code,
        latitude=draft["latitude"],
        longitude=draft["longitude"],
        distance_miles=Decimal(str(round(distance, 1))),
        created_at=draft["created"],
    )
    life = Life(order=order, weights=draft["weights"])
    life.events.append(
        order_event(
            order, "order.created", SYSTEM, draft["created"], "", Status.CREATED, {"packages": len(life.weights)}
        )
    )
    if rng.random() < CANCELLED_BEFORE_READY:
        _move(
            life,
            Status.CANCELLED,
            draft["created"] + timedelta(minutes=rng.randint(10, 90)),
            reason="Customer cancelled",
        )
        return life
    _move(life, Status.READY, draft["ready"])
    _pickup(life, site.window_after(draft["ready"], calendar), draft["ready"], site, calendar, rng)
    return life


def _move(life: Life, to: str, at: datetime, event_type: str = "", actor: Actor = SYSTEM, **details) -> None:
    life.events.append(order_move(life.order, to=to, actor=actor, at=at, event_type=event_type, details=details))


def _note(life: Life, type_: str, at: datetime, actor: Actor, **details) -> None:
    status = life.order.status
    life.events.append(order_event(life.order, type_, actor, at, status, status, details))


def _pickup(life: Life, visit: Visit | None, since: datetime, site: PastSite, calendar, rng) -> None:
    """Schedule the ready order into `visit` and go on from there; without a window before the cutoff it
    stays ready (the live assignment schedules it)."""
    while visit is not None:
        window, order = visit.window, life.order
        visit.used = True
        scheduled = since + timedelta(minutes=rng.randint(1, 10))
        order.pickup_window, order.not_scheduled_reason = window, ""
        order.promised_date = window.starts_at.astimezone(site.zone).date()
        _move(
            life,
            Status.SCHEDULED,
            scheduled,
            window=window,
            starts_at=window.starts_at.isoformat(),
            site=site.site.name,
        )
        if visit.missed:
            since = window.starts_at + timedelta(minutes=1)
            _move(
                life,
                Status.READY,
                since,
                "order.pickup_missed",
                window=window,
                reason="No driver accepted the pickup.",
            )
            visit = site.window_after(since, calendar)
            continue
        driver = Actor.of_driver(visit.driver.user)
        if window.accepted_at and scheduled <= window.accepted_at:
            _note(
                life,
                "order.driver_assigned",
                window.accepted_at,
                driver,
                window=window,
                driver=visit.driver.first_name,
            )
        _note(life, "order.driver_arrived", visit.arrived, driver, window=window)
        if rng.random() < LEFT_BEHIND:
            labels = [f"{order.tracking_code}{n:02d}" for n in range(1, len(life.weights) + 1)]
            details = {"window": window, "store": order.store.name, "left": labels, "handed_back": []}
            _move(life, Status.READY, visit.left, "order.left_behind", driver, **details, reason="The driver left.")
            since = visit.left
            visit = site.window_after(since, calendar)
            continue
        _collected(life, visit, driver, rng, site, calendar)
        return


def _collected(life: Life, visit: Visit, driver: Actor, rng, site: PastSite, calendar) -> None:
    """Picked up at the counter, out for delivery, then delivered or failed and brought back."""
    order, window = life.order, visit.window
    picked = visit.arrived + timedelta(minutes=rng.randint(2, 12))
    labels = [f"{order.tracking_code}{n:02d}" for n in range(1, len(life.weights) + 1)]
    store = order.store.name
    _move(
        life,
        Status.PICKED_UP,
        picked,
        "",
        driver,
        window=window,
        store=store,
        driver=visit.driver.first_name,
        labels=labels,
    )
    life.collected_at, life.returned_at = picked, None
    visit.packages += len(life.weights)
    eta = visit.left + timedelta(minutes=rng.randint(20, 80))
    _note(
        life,
        "order.out_for_delivery",
        visit.left,
        driver,
        window=window,
        eta_from=(eta - timedelta(minutes=15)).isoformat(),
        eta_to=(eta + timedelta(minutes=15)).isoformat(),
    )
    if rng.random() >= DELIVERY_FAILS:
        details = {"left_at": "handed_to_customer", "recipient_name": order.customer_first_name}
        _move(life, Status.DELIVERED, eta, "", driver, **details, attempt=order.attempt, photo="")
        return
    reason = rng.choice([reason for reason in FAILURE_REASONS if reason != "other"])
    _move(life, Status.DELIVERY_FAILED, eta, "", driver, reason=reason, note="", attempt=order.attempt)
    back = eta + timedelta(minutes=rng.randint(20, 60))
    _move(life, Status.RETURNED, back, "", driver, store=store, driver=visit.driver.first_name, labels=labels)
    life.returned_at = back
    _after_return(life, back, rng, site, calendar)


def _after_return(life: Life, back: datetime, rng, site: PastSite, calendar) -> None:
    """The next open day the merchant sends it out again, hands it over in the store, or cancels it;
    if that day has not come yet, it waits at the store (returned)."""
    order = life.order
    day = back.astimezone(site.zone).date() + timedelta(days=1)
    while not calendar.is_open_on(day):
        day += timedelta(days=1)
    decided = datetime.combine(day, calendar.hours_on(day)[0], tzinfo=site.zone) + timedelta(
        minutes=rng.randint(20, 90)
    )
    if decided >= site.cutoff:
        return
    choice = rng.choices([name for name, _ in AFTER_RETURN], weights=[weight for _, weight in AFTER_RETURN])[0]
    if choice == "again" and order.attempt < settings.MAX_DELIVERY_ATTEMPTS:
        _move(life, Status.READY, decided)
        life.collected_at = life.returned_at = None
        _pickup(life, site.window_after(decided, calendar), decided, site, calendar, rng)
    elif choice == "cancelled":
        _move(life, Status.CANCELLED, decided, reason="The customer asked for a refund")
    else:
        _move(life, Status.COLLECTED, decided)


def _save(lives: list[Life], visits: list[Visit]) -> None:
    """Windows and their events, orders, packages and the sealed ledger, in a few bulk statements."""
    for visit in visits:
        visit.window.booked_packages = min(visit.packages, visit.window.capacity_packages)
    PickupWindow.objects.bulk_create([visit.window for visit in visits], batch_size=500)
    WindowEvent.objects.bulk_create([event for visit in visits for event in visit.events], batch_size=500)
    orders = [life.order for life in lives]
    made = {id(life.order): life.order.created_at for life in lives}
    last = {id(life.order): life.events[-1].occurred_at for life in lives}
    Order.objects.bulk_create(orders, batch_size=500)
    for order in orders:  # bulk_create stamps "now" on these: put the past back, in one statement
        order.created_at, order.updated_at = made[id(order)], last[id(order)]
    rows_update(Order, ("id", "created_at", "updated_at"), [(o.pk, o.created_at, o.updated_at) for o in orders])
    Package.objects.bulk_create(
        [
            Package(
                order=life.order,
                sequence=number,
                label_code=f"{life.order.tracking_code}{number:02d}",
                weight_lb=weight,
                collected_at=life.collected_at,
                returned_at=life.returned_at,
            )
            for life in lives
            for number, weight in enumerate(life.weights, start=1)
        ],
        batch_size=500,
    )
    events = [event for life in lives for event in life.events]
    for event in events:  # the orders and windows were saved after their events were made
        event.order = event.order  # sets order_id, keeping the loaded order (setting order_id would drop it)
        if isinstance(event.details.get("window"), PickupWindow):
            event.details["window"] = event.details["window"].pk
    events_append(events, new_orders=True)
