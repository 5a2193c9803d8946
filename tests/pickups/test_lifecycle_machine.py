"""A property test of the lifecycles: random sequences of what merchants, drivers, stores and the
workers' sweeps do, through the real services, with the clock under the test's control.

Each step may be legal or not: a move the tables (or the documented rules beside them) refuse must
raise TransitionError and change nothing; a legal one must land where the table says. After every
step the invariants hold: each order's and window's status is what replaying its ledger gives,
every move recorded is in its table (offers, which keep no ledger, are watched step by step), no
window is over capacity and the bookings of windows before their visit equal their orders' parcels,
an order is in one window (the one its ledger last scheduled it into), a window has at most one
driver, every order on the road is held by the driver of its pickup, and every custody chain verifies.

Asynchronous work is not run after commit here: the sweeps that would pick it up if its task were lost
(assignment, offer waves and follow-ups, missed windows, forgotten visits, run announcements) are
rules of their own, so every interleaving of "the task ran late" is explored too.

Runs: 6 examples of 20 steps in the normal suite (profile "lifecycle", 20-40 s on SQLite);
`HYPOTHESIS_PROFILE=ci-long` runs 50 examples of 60 steps (for PostgreSQL in CI: some 15 minutes);
`LIFECYCLE_EXAMPLES=N` overrides the number of examples of either.
Each example runs in a savepoint rolled back at its end, over a world (sites, stores, drivers,
windows) built once per test.
"""

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from common.actors import SYSTEM, Actor
from common.errors import NotAllowedError, TransitionError
from deliveries import tasks as delivery_tasks
from deliveries.handoffs import order_deliver, order_fail, orders_return
from deliveries.models import Driver, Offer
from deliveries.runs import run_announce
from deliveries.services import (
    OFFER_TRANSITIONS,
    offer_accept,
    offer_decline,
    offers_expire,
    visit_collect,
    visit_depart,
    window_give_back,
    window_offer_wave,
)
from merchants.handoff_codes import ATTEMPTS, store_code
from merchants.models import Membership, Store
from pickups.custody import chains_verify
from pickups.ledger import ORDER_TRANSITIONS
from pickups.models import Order, OrderEvent, Package, PickupWindow, WindowEvent
from pickups.services import order_cancel, order_mark_collected, order_mark_ready, orders_create
from pickups.visits import window_arrive, windows_depart_overdue
from pickups.window_states import WINDOW_TRANSITIONS
from pickups.windows import OPEN_FOR_ORDERS, orders_assign, windows_missed
from tests.factories import DriverFactory, MembershipFactory, SiteFactory, StoreFactory, WindowFactory, order_draft

pytestmark = pytest.mark.django_db

OrderStatus, WindowStatus = Order.Status, PickupWindow.Status

settings.register_profile(
    "lifecycle",
    max_examples=int(os.environ.get("LIFECYCLE_EXAMPLES", 6)),
    stateful_step_count=20,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "ci-long",
    parent=settings.get_profile("lifecycle"),
    max_examples=int(os.environ.get("LIFECYCLE_EXAMPLES", 50)),
    stateful_step_count=60,
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "lifecycle")

# Monday 2027-01-04, 10:00 in Chandler (UTC-7, no DST): the stores are open, before the same-day cutoff.
START = datetime(2027, 1, 4, 17, 0, tzinfo=UTC)
# Windows: (site, minutes after START it starts, capacity). The last two overlap, at different sites,
# so one driver cannot hold both.
WINDOWS = [(0, 75, 6), (0, 180, 6), (1, 210, 6)]
# Stores: (merchant, site).
STORES = [(0, 0), (1, 0), (0, 1)]
# Drivers' car sizes: the last one cannot take a full window.
DRIVER_CAPACITIES = [40, 40, 3]
CLOCK_STEPS = [1, 5, 15, 30, 60, 120, 240]  # minutes
# Where an example starts: each scene is the one before it and one more step of the day.
SCENES = ["ready", "scheduled", "accepted", "on_site", "picked_up", "failed"]


def build_world():
    """Two malls a couple of miles apart, three stores of two merchants, three drivers, three windows."""
    sites = [
        SiteFactory(),
        SiteFactory(name="Second mall", latitude=Decimal("33.320000"), longitude=Decimal("-111.880000")),
    ]
    owners = [MembershipFactory(role=Membership.Role.OWNER) for _ in range(2)]
    stores = [StoreFactory(merchant=owners[m].merchant, site=sites[s]) for m, s in STORES]
    drivers = [DriverFactory(capacity_packages=capacity) for capacity in DRIVER_CAPACITIES]
    windows = [
        WindowFactory(site=sites[s], starts_at=START + timedelta(minutes=minutes), capacity_packages=capacity)
        for s, minutes, capacity in WINDOWS
    ]
    return {"owners": [o.user for o in owners], "stores": stores, "drivers": drivers, "windows": windows}


def snapshot():
    """Everything a refused move must leave as it was."""
    return (
        list(Order.objects.order_by("pk").values_list("pk", "status", "pickup_window", "attempt", "updated_at")),
        list(Package.objects.order_by("pk").values_list("pk", "collected_at", "returned_at")),
        list(PickupWindow.objects.order_by("pk").values_list("pk", "status", "booked_packages", "driver")),
        list(Offer.objects.order_by("pk").values_list("pk", "status")),
        OrderEvent.objects.count(),
        WindowEvent.objects.count(),
    )


class LifecycleMachine(RuleBasedStateMachine):
    """Rules pick the object they act on from all of its kind, or (half the time) from those the move
    fits, so sequences reach deep states (returned, sent out again) and still try every illegal move."""

    def __init__(self, world):
        super().__init__()
        self.world = world
        self.example = transaction.atomic()
        self.example.__enter__()
        self.clock = time_machine.travel(START, tick=False)
        self.coordinates = self.clock.start()
        cache.clear()  # wrong store codes counted in an earlier example
        self.offers_seen: dict[int, str] = {}
        self.wrong_codes: Counter[int] = Counter()  # per store: kept under the lockout, which would stop the run

    def teardown(self):
        self.clock.stop()
        transaction.set_rollback(True)
        self.example.__exit__(None, None, None)

    # ---------------------------------------------------------------------------------------------
    # helpers

    @property
    def now(self) -> datetime:
        return timezone.now()

    def refused(self, call, errors=TransitionError):
        """The call must be refused with `errors` and change nothing."""
        before = snapshot()
        with pytest.raises(errors):
            call()
        assert snapshot() == before

    def attempt(self, allowed: bool, call):
        """Legal per the rules: it must go through. Illegal: refused with TransitionError, nothing changed."""
        if allowed:
            return call()
        return self.refused(call)

    def pick(self, data, label: str, everything: list, fitting: list):
        """One of `everything`, or half the time one of `fitting` (those the move suits), if any."""
        if fitting and data.draw(st.booleans(), label=f"{label} fits"):
            return data.draw(st.sampled_from(fitting), label=label)
        return data.draw(st.sampled_from(everything), label=label)

    def pick_order(self, data, *fitting: str) -> Order:
        orders = list(Order.objects.select_related("pickup_window").order_by("pk"))
        return self.pick(data, "order", orders, [order for order in orders if order.status in fitting])

    def pick_window(self, data, *fitting: str) -> PickupWindow:
        windows = list(PickupWindow.objects.order_by("pk"))
        return self.pick(data, "window", windows, [window for window in windows if window.status in fitting])

    def pick_driver(self, data, likely: int | None) -> Driver:
        drivers = list(Driver.objects.select_related("user").order_by("pk"))
        return self.pick(data, "driver", drivers, [driver for driver in drivers if driver.pk == likely])

    def pick_offer(self, data) -> Offer:
        offers = list(Offer.objects.select_related("driver__user").order_by("pk"))
        return self.pick(data, "offer", offers, [offer for offer in offers if offer.status == Offer.Status.OPEN])

    def owner_of(self, order: Order) -> Actor:
        return Actor.of_user(next(u for u in self.world["owners"] if u.membership.merchant_id == order.merchant_id))

    def fresh(self, window: PickupWindow) -> PickupWindow:
        return PickupWindow.objects.get(pk=window.pk)

    def driver_of(self, window: PickupWindow | None) -> Driver:
        """The window's driver, or the first driver for a window nobody holds (whose moves are refused)."""
        if window is not None and window.driver_id:
            return Driver.objects.select_related("user").get(pk=window.driver_id)
        return self.world["drivers"][0]

    def new_order(self, store: int, packages: int, level: str) -> Order:
        store = self.world["stores"][store]
        draft = order_draft(store, packages=packages, service_level=level)
        [order] = orders_create(merchant=store.merchant, drafts=[draft], actor=SYSTEM)
        return order

    # ---------------------------------------------------------------------------------------------
    # merchants

    @initialize(
        orders=st.lists(
            st.tuples(st.integers(0, len(STORES) - 1), st.integers(1, 3), st.sampled_from(Order.ServiceLevel.values)),
            min_size=1,
            max_size=4,
        ),
        scene=st.sampled_from(SCENES),
    )
    def start_of_the_day(self, orders, scene):
        """A few orders flagged ready, then the day carried on through the real services up to `scene`,
        so that short sequences start from deep states too."""
        for store, packages, level in orders:
            order = self.new_order(store, packages, level)
            order_mark_ready(order=order, actor=self.owner_of(order))
        for step in SCENES[1 : SCENES.index(scene) + 1]:
            getattr(self, f"scene_{step}")()

    def scene_scheduled(self):
        orders_assign(now=self.now)

    def scene_accepted(self):
        window, driver = self.world["windows"][0], self.world["drivers"][0]
        window_offer_wave(window_id=window.pk, now=self.now)
        offer = Offer.objects.filter(window=window, driver=driver).first()
        if offer is not None:
            offer_accept(offer=offer, driver=driver, now=self.now)

    def scene_on_site(self):
        window = self.fresh(self.world["windows"][0])
        self.coordinates.move_to(window.starts_at - timedelta(minutes=10))
        if window.status == WindowStatus.ACCEPTED:
            driver = self.driver_of(window)
            window_arrive(window_id=window.pk, driver_id=driver.pk, actor=Actor.of_driver(driver.user), now=self.now)

    def scene_picked_up(self):
        window = self.fresh(self.world["windows"][0])
        if window.status != WindowStatus.IN_PROGRESS:
            return
        driver = self.driver_of(window)
        for store in Store.objects.filter(orders__pickup_window=window).distinct():
            visit_collect(
                window_id=window.pk,
                driver_id=driver.pk,
                store_id=store.pk,
                store_code=store_code(store).code,
                label_codes=list(Package.objects.filter(order__store=store).values_list("label_code", flat=True)),
                actor=Actor.of_driver(driver.user),
                now=self.now,
            )

    def scene_failed(self):
        order = Order.objects.filter(status=OrderStatus.PICKED_UP).select_related("pickup_window").first()
        if order is not None:
            order_fail(order=order, driver=self.driver_of(order.pickup_window), reason="not_home")

    @rule(
        store=st.integers(0, len(STORES) - 1),
        packages=st.integers(1, 3),
        level=st.sampled_from(Order.ServiceLevel.values),
    )
    def create(self, store, packages, level):
        assert self.new_order(store, packages, level).status == OrderStatus.CREATED

    @rule(data=st.data())
    def ready(self, data):
        order = self.pick_order(data, OrderStatus.CREATED, OrderStatus.RETURNED)
        again = order.status == OrderStatus.RETURNED
        allowed = (
            OrderStatus.READY in ORDER_TRANSITIONS[order.status]
            and order.status != OrderStatus.SCHEDULED  # a merchant may not take an order out of its pickup
            and not (again and order.attempt >= django_settings.MAX_DELIVERY_ATTEMPTS)
        )
        self.attempt(allowed, lambda: order_mark_ready(order=order, actor=self.owner_of(order)))
        if allowed:
            moved = Order.objects.get(pk=order.pk)
            assert (moved.status, moved.pickup_window_id, moved.attempt) == (
                OrderStatus.READY,
                None,
                order.attempt + again,
            )

    @rule(data=st.data())
    def cancel(self, data):
        order = self.pick_order(data, OrderStatus.CREATED, OrderStatus.READY, OrderStatus.SCHEDULED)
        at_counter = order.pickup_window_id and order.pickup_window.status == WindowStatus.IN_PROGRESS
        allowed = OrderStatus.CANCELLED in ORDER_TRANSITIONS[order.status] and not (
            order.status == OrderStatus.SCHEDULED and at_counter
        )
        self.attempt(allowed, lambda: order_cancel(order=order, actor=self.owner_of(order), reason="Changed mind"))
        if allowed:
            assert Order.objects.filter(pk=order.pk, status=OrderStatus.CANCELLED, pickup_window=None).exists()

    @rule(data=st.data())
    def collected_in_store(self, data):
        order = self.pick_order(data, OrderStatus.RETURNED)
        allowed = OrderStatus.COLLECTED in ORDER_TRANSITIONS[order.status]
        self.attempt(allowed, lambda: order_mark_collected(order=order, actor=self.owner_of(order)))

    # ---------------------------------------------------------------------------------------------
    # the workers' sweeps

    @rule(only_some=st.booleans(), data=st.data())
    def assign(self, only_some, data):
        ready = list(Order.objects.filter(status=OrderStatus.READY).values_list("pk", flat=True))
        ids = data.draw(st.lists(st.sampled_from(ready), unique=True)) if only_some and ready else None
        orders_assign(order_ids=ids, now=self.now)
        earliest = self.now + timedelta(minutes=django_settings.PICKUP_LEAD_MINUTES)
        for order in Order.objects.filter(pk__in=ready if ids is None else ids).select_related("pickup_window"):
            if order.status == OrderStatus.SCHEDULED:  # into a window far enough ahead, still taking orders
                assert order.pickup_window.starts_at > earliest
            else:  # or still ready, saying why
                assert order.status == OrderStatus.READY and order.not_scheduled_reason

    @rule(data=st.data())
    def offer_wave(self, data):
        window = self.pick_window(data, *OPEN_FOR_ORDERS)
        due = (
            window.status in OPEN_FOR_ORDERS
            and window.driver_id is None
            and window.booked_packages > 0
            and window.starts_at > self.now
            and (window.next_wave_at is None or window.next_wave_at <= self.now)
        )
        before = snapshot()
        offers = window_offer_wave(window_id=window.pk, now=self.now)
        if not due:
            assert offers == [] and snapshot() == before
        else:
            assert self.fresh(window).status == WindowStatus.OFFERED
            assert all(offer.status == Offer.Status.OPEN for offer in offers)

    @rule()
    def offer_sweep(self):
        """The worker's minute: follow-ups of accepts, expiries, the next waves, windows at risk."""
        delivery_tasks.offer_windows()
        assert not Offer.objects.filter(status=Offer.Status.OPEN, window__driver__isnull=False).exists()

    @rule()
    def expire_offers(self):
        offers_expire(now=self.now)
        assert not Offer.objects.filter(status=Offer.Status.OPEN, expires_at__lte=self.now).exists()

    @rule()
    def missed_sweep(self):
        windows_missed(now=self.now)
        assert not PickupWindow.objects.filter(
            status__in=OPEN_FOR_ORDERS, starts_at__lte=self.now, booked_packages__gt=0
        ).exists()
        assert not PickupWindow.objects.filter(status=WindowStatus.ACCEPTED, ends_at__lte=self.now).exists()

    @rule()
    def forgotten_visits_sweep(self):
        windows_depart_overdue(now=self.now)
        grace = timedelta(minutes=django_settings.DEPART_GRACE_MINUTES)
        assert not PickupWindow.objects.filter(status=WindowStatus.IN_PROGRESS, ends_at__lte=self.now - grace).exists()

    @rule(data=st.data())
    def announce_run(self, data):
        run_announce(window_id=self.pick_window(data, WindowStatus.COMPLETED).pk, now=self.now)

    @rule(minutes=st.sampled_from(CLOCK_STEPS))
    def time_passes(self, minutes):
        self.coordinates.shift(timedelta(minutes=minutes))

    # ---------------------------------------------------------------------------------------------
    # drivers and offers

    @precondition(lambda self: Offer.objects.exists())
    @rule(data=st.data())
    def accept(self, data):
        offer = self.pick_offer(data)
        window, driver = self.fresh(offer.window), offer.driver
        overlapping = PickupWindow.objects.filter(
            driver=driver,
            status__in=[WindowStatus.ACCEPTED, WindowStatus.IN_PROGRESS],
            starts_at__lt=window.ends_at,
            ends_at__gt=window.starts_at,
        )
        allowed = (
            offer.status == Offer.Status.OPEN
            and offer.expires_at > self.now
            and window.driver_id is None
            and window.starts_at > self.now
            and window.booked_packages <= driver.capacity_packages
            and not overlapping.exists()
            and WindowStatus.ACCEPTED in WINDOW_TRANSITIONS[window.status]
        )
        self.attempt(allowed, lambda: offer_accept(offer=offer, driver=driver, now=self.now))
        if allowed:
            window = self.fresh(window)
            assert (window.status, window.driver_id) == (WindowStatus.ACCEPTED, driver.pk)
            assert Offer.objects.get(pk=offer.pk).status == Offer.Status.ACCEPTED

    @precondition(lambda self: Offer.objects.exists())
    @rule(data=st.data())
    def accept_someone_elses_offer(self, data):
        offer = self.pick_offer(data)
        driver = self.pick_driver(data, likely=None)
        if offer.driver_id != driver.pk:  # not found as theirs (or, for a closed offer, refused first)
            self.refused(
                lambda: offer_accept(offer=offer, driver=driver, now=self.now), (Offer.DoesNotExist, TransitionError)
            )

    @precondition(lambda self: Offer.objects.exists())
    @rule(data=st.data())
    def decline(self, data):
        offer = self.pick_offer(data)
        driver = self.pick_driver(data, likely=offer.driver_id)
        allowed = offer.driver_id == driver.pk and Offer.Status.DECLINED in OFFER_TRANSITIONS[offer.status]
        self.attempt(allowed, lambda: offer_decline(offer=offer, driver=driver, now=self.now))

    @rule(data=st.data())
    def give_back(self, data):
        window = self.pick_window(data, WindowStatus.ACCEPTED)
        driver = self.pick_driver(data, likely=window.driver_id)
        allowed = window.driver_id == driver.pk and WindowStatus.OFFERED in WINDOW_TRANSITIONS[window.status]
        self.attempt(allowed, lambda: window_give_back(window=window, driver=driver, now=self.now))
        if allowed:
            window = self.fresh(window)
            assert (window.status, window.driver_id) == (WindowStatus.OFFERED, None)

    @rule(data=st.data())
    def arrive(self, data):
        window = self.pick_window(data, WindowStatus.ACCEPTED)
        driver = self.pick_driver(data, likely=window.driver_id)
        opens = window.starts_at - timedelta(minutes=django_settings.ARRIVE_EARLY_MINUTES)
        allowed = (
            window.driver_id == driver.pk
            and WindowStatus.IN_PROGRESS in WINDOW_TRANSITIONS[window.status]
            and self.now >= opens
        )
        self.attempt(
            allowed,
            lambda: window_arrive(
                window_id=window.pk, driver_id=driver.pk, actor=Actor.of_driver(driver.user), now=self.now
            ),
        )

    @rule(data=st.data(), labels=st.lists(st.integers(0, 50), max_size=4), stray=st.booleans())
    def scan_at_counter(self, data, labels, stray):
        window = self.pick_window(data, WindowStatus.IN_PROGRESS)
        packages = list(Package.objects.filter(order__pickup_window=window).order_by("pk").select_related("order"))
        stores = self.world["stores"]
        store = self.pick(data, "store", stores, [s for s in stores if s.pk in {p.order.store_id for p in packages}])
        driver = self.driver_of(window)
        codes = [packages[i % len(packages)].label_code for i in labels] if packages else []
        if stray:  # a real label of another pickup, or none at all
            other = Package.objects.exclude(order__pickup_window=window).values_list("label_code", flat=True).first()
            codes.append(other or "NOT-A-LABEL")

        def scan():
            return visit_collect(
                window_id=window.pk,
                driver_id=driver.pk,
                store_id=store.pk,
                store_code=store_code(store).code,
                label_codes=codes,
                actor=Actor.of_driver(driver.user),
                now=self.now,
            )

        if window.driver_id != driver.pk or window.status != WindowStatus.IN_PROGRESS:
            return self.refused(scan)
        if store.pk not in {package.order.store_id for package in packages}:
            return self.refused(scan, ValidationError)
        result = scan()
        for order in result.picked_up:
            assert not Package.objects.filter(order=order, collected_at=None).exists()
        left = Order.objects.filter(pickup_window=window, status=OrderStatus.SCHEDULED)
        assert (self.fresh(window).status == WindowStatus.COMPLETED) == (not left.exists())

    @rule(data=st.data())
    def wrong_store_code(self, data):
        window = self.pick_window(data, WindowStatus.IN_PROGRESS)
        driver = self.driver_of(window)
        packages = list(Package.objects.filter(order__pickup_window=window).select_related("order__store"))
        if window.status != WindowStatus.IN_PROGRESS or not packages:
            return
        store = packages[0].order.store
        if self.wrong_codes[store.pk] >= ATTEMPTS - 1:  # the lockout has its own tests (tests/deliveries)
            return
        self.wrong_codes[store.pk] += 1
        wrong = f"{(int(store_code(store).code) + 1) % 1_000_000:06d}"
        self.refused(
            lambda: visit_collect(
                window_id=window.pk,
                driver_id=driver.pk,
                store_id=store.pk,
                store_code=wrong,
                label_codes=[package.label_code for package in packages],
                actor=Actor.of_driver(driver.user),
                now=self.now,
            ),
            NotAllowedError,
        )

    @rule(data=st.data())
    def depart(self, data):
        window = self.pick_window(data, WindowStatus.IN_PROGRESS)
        driver = self.pick_driver(data, likely=window.driver_id)
        behind = set(
            Order.objects.filter(pickup_window=window, status=OrderStatus.SCHEDULED).values_list("pk", flat=True)
        )
        allowed = window.driver_id == driver.pk and WindowStatus.COMPLETED in WINDOW_TRANSITIONS[window.status]
        self.attempt(
            allowed,
            lambda: visit_depart(
                window_id=window.pk, driver_id=driver.pk, actor=Actor.of_driver(driver.user), now=self.now
            ),
        )
        if allowed:
            assert self.fresh(window).status == WindowStatus.COMPLETED
            back = Order.objects.filter(pk__in=behind, status=OrderStatus.READY, pickup_window=None)
            assert set(back.values_list("pk", flat=True)) == behind

    # ---------------------------------------------------------------------------------------------
    # on the road

    @rule(data=st.data())
    def deliver(self, data):
        order = self.pick_order(data, OrderStatus.PICKED_UP)
        driver = self.driver_of(order.pickup_window)
        allowed = OrderStatus.DELIVERED in ORDER_TRANSITIONS[order.status]
        self.attempt(
            allowed,
            lambda: order_deliver(order=order, driver=driver, left_at="handed_to_customer", recipient_name="Jamie"),
        )

    @rule(data=st.data())
    def fail(self, data):
        order = self.pick_order(data, OrderStatus.PICKED_UP)
        driver = self.driver_of(order.pickup_window)
        allowed = OrderStatus.DELIVERY_FAILED in ORDER_TRANSITIONS[order.status]
        self.attempt(allowed, lambda: order_fail(order=order, driver=driver, reason="not_home"))

    @rule(data=st.data(), labels=st.lists(st.integers(0, 50), max_size=4))
    def return_to_store(self, data, labels):
        failed = Order.objects.filter(status=OrderStatus.DELIVERY_FAILED).select_related("pickup_window")
        driver = self.pick_driver(data, likely=next((o.pickup_window.driver_id for o in failed), None))
        stores, theirs = self.world["stores"], {o.store_id for o in failed if o.pickup_window.driver_id == driver.pk}
        store = self.pick(data, "store", stores, [s for s in stores if s.pk in theirs])
        packages = list(Package.objects.filter(order__in=failed, order__pickup_window__driver=driver).order_by("pk"))
        codes = [packages[i % len(packages)].label_code for i in labels] if packages else []

        def hand_back():
            return orders_return(
                driver=driver, store_id=store.pk, store_code=store_code(store).code, label_codes=codes, now=self.now
            )

        if store.pk not in theirs:
            return self.refused(hand_back, ValidationError)
        for order in hand_back().returned:
            assert not Package.objects.filter(order=order, returned_at=None).exists()

    # ---------------------------------------------------------------------------------------------
    # invariants

    @invariant()
    def status_is_what_the_order_ledger_replays_to(self):
        statuses = dict(Order.objects.values_list("pk", "status"))
        current: dict[int, str] = {}
        for order_id, type_, from_status, to_status in OrderEvent.objects.order_by("pk").values_list(
            "order", "type", "from_status", "to_status"
        ):
            before = current.get(order_id, "")
            assert from_status == before, f"order {order_id}: {type_} from {from_status!r}, but it was {before!r}"
            if not before:
                assert (type_, to_status) == ("order.created", OrderStatus.CREATED)
            elif from_status != to_status:
                assert to_status in ORDER_TRANSITIONS[from_status], f"order {order_id}: {from_status} → {to_status}"
            current[order_id] = to_status
        assert current == statuses

    @invariant()
    def status_is_what_the_window_ledger_replays_to(self):
        current = {pk: WindowStatus.OPEN for pk in PickupWindow.objects.values_list("pk", flat=True)}
        for window_id, from_status, to_status in WindowEvent.objects.order_by("pk").values_list(
            "window", "from_status", "to_status"
        ):
            assert from_status == current[window_id]
            assert to_status in WINDOW_TRANSITIONS[from_status], f"window {window_id}: {from_status} → {to_status}"
            current[window_id] = to_status
        assert current == dict(PickupWindow.objects.values_list("pk", "status"))

    @invariant()
    def offers_move_only_as_their_table_says(self):
        for pk, status in Offer.objects.values_list("pk", "status"):
            seen = self.offers_seen.get(pk, Offer.Status.OPEN)  # a new offer is made open
            assert status == seen or status in OFFER_TRANSITIONS[seen], f"offer {pk}: {seen} → {status}"
            self.offers_seen[pk] = status

    @invariant()
    def windows_hold_exactly_the_parcels_booked(self):
        sizes = dict(Order.objects.annotate(size=Count("packages")).values_list("pk", "size"))
        held = Counter()
        for pk, window_id in Order.objects.exclude(pickup_window=None).values_list("pk", "pickup_window"):
            held[window_id] += sizes[pk]
        for window in PickupWindow.objects.all():
            assert 0 <= window.booked_packages <= window.capacity_packages
            if window.status in (WindowStatus.OPEN, WindowStatus.OFFERED, WindowStatus.ACCEPTED):
                assert window.booked_packages == held[window.pk], f"window {window.pk} ({window.status})"
            elif window.status in (WindowStatus.MISSED, WindowStatus.CANCELLED):
                assert window.booked_packages == held[window.pk] == 0, f"window {window.pk} ({window.status})"

    @invariant()
    def an_order_is_in_the_one_window_its_ledger_names(self):
        last_scheduled = dict(
            OrderEvent.objects.filter(type="order.scheduled").order_by("pk").values_list("order", "details__window")
        )
        windows = {window.pk: window for window in PickupWindow.objects.all()}
        scanned = set(
            Package.objects.exclude(collected_at=None, returned_at=None).values_list("order", flat=True).distinct()
        )
        # A returned order cancelled at the store keeps the scans of that return: its last handoff, not an earlier one.
        cancelled_returned = set(
            OrderEvent.objects.filter(from_status=OrderStatus.RETURNED, to_status=OrderStatus.CANCELLED).values_list(
                "order", flat=True
            )
        )
        for pk, status, window_id in Order.objects.values_list("pk", "status", "pickup_window"):
            window = windows.get(window_id)
            if status in (OrderStatus.CREATED, OrderStatus.READY, OrderStatus.CANCELLED):
                assert window is None, f"order {pk} is {status} but in window {window_id}"
                if pk not in cancelled_returned:
                    assert pk not in scanned, f"order {pk} is {status} with scans of an earlier handoff"
            elif status == OrderStatus.SCHEDULED:
                assert window_id == last_scheduled[pk]
                assert window.status in (*OPEN_FOR_ORDERS, WindowStatus.ACCEPTED, WindowStatus.IN_PROGRESS)
            elif status in (OrderStatus.PICKED_UP, OrderStatus.DELIVERY_FAILED):
                # on the road: held by the driver of the pickup that collected it
                assert window.driver_id is not None
                assert window.status in (WindowStatus.IN_PROGRESS, WindowStatus.COMPLETED)

    @invariant()
    def a_window_has_at_most_one_driver(self):
        accepted = list(Offer.objects.filter(status=Offer.Status.ACCEPTED).values_list("window", "driver"))
        winners = Counter(window_id for window_id, _ in accepted)
        busy = []
        for window in PickupWindow.objects.all():
            assert winners[window.pk] <= 1
            if window.status in OPEN_FOR_ORDERS:
                assert window.driver_id is None
            if window.status in (WindowStatus.ACCEPTED, WindowStatus.IN_PROGRESS):
                busy.append(window)
        accepted_by = dict(accepted)
        for window in busy:
            assert accepted_by.get(window.pk) == window.driver_id, f"window {window.pk}: driver and winning offer"
            for other in busy:  # nobody holds two pickups at once
                if other.pk > window.pk and other.driver_id == window.driver_id:
                    assert other.starts_at >= window.ends_at or other.ends_at <= window.starts_at

    @invariant()
    def every_custody_chain_verifies(self):
        broken = [str(check) for check in chains_verify(Order.objects.all()) if check.broken is not None]
        assert not broken


def test_the_lifecycles_hold_under_random_sequences_of_moves():
    world = build_world()
    run_state_machine_as_test(lambda: LifecycleMachine(world), settings=settings.get_profile(PROFILE))
