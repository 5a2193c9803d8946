"""Planning windows per site and putting ready orders into them (database, bulk, locks)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail

from common.actors import SYSTEM
from merchants.models import OpeningHours
from pickups.ledger import orders_transition
from pickups.models import Order, PickupWindow
from pickups.services import order_cancel, order_mark_ready
from pickups.windows import (
    UNTOLD_GRACE,
    customers_tell_scheduled,
    customers_tell_untold,
    orders_assign,
    windows_missed,
    windows_plan,
)
from tests.factories import MembershipFactory, SiteFactory, StoreFactory, UserFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db

# Monday 2027-01-04, 08:00 in Chandler (UTC-7, no DST)
MONDAY_8AM = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def traveller():
    with time_machine.travel(MONDAY_8AM, tick=False) as traveller:
        yield traveller


@pytest.fixture
def store(traveller):
    return StoreFactory(hours={day: (time(10), time(20)) for day in range(7)})


def ready(store, count=1, **overrides):
    orders = make_orders(store, count, **overrides)
    orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
    return [Order.objects.get(pk=order.pk) for order in orders]


class TestPlanning:
    def test_a_week_of_two_hour_windows_in_local_time(self, store):
        assert windows_plan() == 7 * 5

        monday = PickupWindow.objects.filter(local_date=date(2027, 1, 4)).order_by("starts_at")
        assert [w.starts_at.astimezone(UTC).hour for w in monday] == [17, 19, 21, 23, 1]  # 10:00 .. 18:00 MST
        assert {w.capacity_packages for w in monday} == {60}

    def test_planning_again_changes_nothing(self, store):
        windows_plan()
        before = list(PickupWindow.objects.values_list("pk", "starts_at", "status"))

        assert windows_plan() == 0
        assert list(PickupWindow.objects.values_list("pk", "starts_at", "status")) == before

    def test_closures_and_changed_hours_cancel_empty_windows_and_reopen_them(self, store):
        windows_plan()
        store.closures.create(date=date(2027, 1, 6), reason="Inventory")

        windows_plan()

        wednesday = PickupWindow.objects.filter(local_date=date(2027, 1, 6))
        assert set(wednesday.values_list("status", flat=True)) == {"cancelled"}
        store.closures.all().delete()
        windows_plan()
        assert set(wednesday.values_list("status", flat=True)) == {"open"}

    def test_a_site_without_active_stores_gets_no_windows(self, traveller):
        StoreFactory(is_active=False)

        assert windows_plan() == 0

    def test_queries_grow_with_sites_not_windows(self, traveller, django_assert_max_num_queries):
        for _ in range(3):
            StoreFactory(site=SiteFactory())
        # sites, their stores, hours and closures; then 6 a site
        with django_assert_max_num_queries(4 + 3 * 6):
            windows_plan()


class TestAssignment:
    def test_same_day_before_cutoff_goes_into_the_first_window_after_the_lead_time(self, store, traveller):
        windows_plan()  # it is 08:00 local; the cutoff is 14:00, the lead time an hour

        [order] = ready(store, packages=3)
        orders_assign()

        order.refresh_from_db()
        assert order.status == "scheduled"
        assert order.pickup_window.starts_at == datetime(2027, 1, 4, 17, 0, tzinfo=UTC)  # 10:00 local
        assert order.pickup_window.booked_packages == 3
        event = order.events.get(type="order.scheduled")
        assert event.details["window"] == order.pickup_window.pk

    def test_the_lead_time_skips_a_window_that_starts_too_soon(self, store, traveller):
        windows_plan()
        traveller.move_to(datetime(2027, 1, 4, 16, 0, 1, tzinfo=UTC))  # 59:59 before the 10:00 window

        [order] = ready(store)
        orders_assign()

        order.refresh_from_db()
        assert order.pickup_window.starts_at == datetime(2027, 1, 4, 19, 0, tzinfo=UTC)  # 12:00 local

    def test_same_day_after_cutoff_goes_to_the_next_open_day(self, store, traveller):
        windows_plan()
        traveller.move_to(datetime(2027, 1, 4, 22, 0, tzinfo=UTC))  # 15:00 local
        store.closures.create(date=date(2027, 1, 5))

        [order] = ready(store)
        orders_assign()

        order.refresh_from_db()
        assert order.pickup_window.local_date == date(2027, 1, 6)

    def test_capacity_overflows_to_the_next_window(self, store, traveller):
        windows_plan()
        PickupWindow.objects.update(capacity_packages=5)

        first, second = ready(store, 2, packages=3)
        orders_assign()

        first.refresh_from_db()
        second.refresh_from_db()
        assert second.pickup_window.starts_at - first.pickup_window.starts_at == timedelta(hours=2)
        assert {w.booked_packages for w in PickupWindow.objects.filter(booked_packages__gt=0)} == {3}

    def test_no_window_keeps_the_order_ready_with_a_reason_and_alerts_admins_once(
        self, store, traveller, django_capture_on_commit_callbacks
    ):
        UserFactory(username="ops", email="ops@program.example", is_staff=True)
        windows_plan()
        PickupWindow.objects.update(capacity_packages=2)

        [order] = ready(store, packages=3)
        with django_capture_on_commit_callbacks(execute=True):
            orders_assign()
            orders_assign()

        order.refresh_from_db()
        assert order.status == "ready" and order.pickup_window is None
        assert "is full" in order.not_scheduled_reason
        assert [m.to for m in mail.outbox] == [["ops@program.example"]]

    def test_two_day_orders_can_wait_for_the_second_open_day(self, store, traveller):
        windows_plan()
        PickupWindow.objects.filter(local_date__lt=date(2027, 1, 6)).update(capacity_packages=0)

        [order] = ready(store, service_level="two_day")
        orders_assign()

        order.refresh_from_db()
        assert order.pickup_window.local_date == date(2027, 1, 6)

    def test_a_window_must_fall_within_the_orders_store_hours(self, traveller):
        site = SiteFactory()
        StoreFactory(site=site, hours={day: (time(10), time(20)) for day in range(7)})
        early_closer = StoreFactory(site=site, hours={day: (time(10), time(13)) for day in range(7)})
        windows_plan()
        traveller.move_to(datetime(2027, 1, 4, 18, 30, tzinfo=UTC))  # 11:30 local: 12:00 window ends after 13:00

        [order] = ready(early_closer)
        orders_assign()

        order.refresh_from_db()
        assert order.status == "ready" and "while" in order.not_scheduled_reason

    def test_marking_ready_schedules_after_commit(self, store, django_capture_on_commit_callbacks):
        windows_plan()
        [order] = make_orders(store)

        with django_capture_on_commit_callbacks(execute=True):
            order_mark_ready(order=order, actor=SYSTEM)

        order.refresh_from_db()
        assert order.status == "scheduled"

    def test_cancelling_a_scheduled_order_frees_its_capacity(self, store):
        windows_plan()
        [order] = ready(store, packages=4)
        orders_assign()
        order.refresh_from_db()
        window = order.pickup_window

        order_cancel(order=order, actor=SYSTEM, reason="Customer called")

        window.refresh_from_db()
        assert window.booked_packages == 0

    def test_assignment_runs_a_fixed_number_of_queries_per_site(self, traveller, django_assert_num_queries):
        sites = [SiteFactory() for _ in range(2)]
        for site in sites:
            ready(StoreFactory(site=site), 10, packages=2)
        windows_plan()
        # one window per site holds everything, so only the number of orders differs
        PickupWindow.objects.update(capacity_packages=1000)
        small = _queries(orders_assign)
        for site in sites:
            ready(StoreFactory(site=site), 30, packages=2)
        Order.objects.filter(status="scheduled").update(status="delivered")
        large = _queries(orders_assign)

        assert small == large


def test_customers_hear_their_promised_day_from_a_task_after_commit(store, django_capture_on_commit_callbacks):
    from notifications.models import Notification

    windows_plan()
    [order] = ready(store)

    with django_capture_on_commit_callbacks() as queued:
        orders_assign()
    assert not Notification.objects.filter(template="customer_scheduled").exists()  # nothing rendered under the locks
    for callback in queued:
        callback()

    [text] = Notification.objects.filter(template="customer_scheduled")
    assert text.recipient == order.customer_phone and "will be delivered on Monday" in text.body


def told(order) -> list:
    from notifications.models import Notification

    texts = Notification.objects.filter(template="customer_scheduled", recipient=order.customer_phone)
    return list(texts.filter(body__contains=f"your order {order.external_id} "))


def test_a_lost_telling_task_is_made_up_by_the_sweep_once(store, django_capture_on_commit_callbacks):
    windows_plan()
    [order, other] = ready(store, 2)
    with django_capture_on_commit_callbacks():  # the task queued at commit is lost with its broker
        orders_assign()
    scheduled_at = Order.objects.get(pk=order.pk).updated_at

    assert customers_tell_untold(now=scheduled_at + UNTOLD_GRACE / 2) == 0  # its own task may still come
    assert customers_tell_untold(now=scheduled_at + UNTOLD_GRACE * 2) == 2
    assert customers_tell_untold(now=scheduled_at + UNTOLD_GRACE * 3) == 0
    assert customers_tell_scheduled(order_ids=[order.pk, other.pk]) == 0  # the task, redelivered at last

    assert len(told(order)) == len(told(other)) == 1 and "will be delivered on Monday" in told(order)[0].body
    assert not Order.objects.filter(schedule_untold=True).exists()


def test_a_telling_task_run_twice_tells_once(store, django_capture_on_commit_callbacks):
    windows_plan()
    [order] = ready(store)
    with django_capture_on_commit_callbacks() as queued:
        orders_assign()

    for callback in queued + queued:
        callback()

    assert len(told(order)) == 1


def test_an_order_that_moved_on_untold_hears_nothing_of_that_schedule(store, django_capture_on_commit_callbacks):
    windows_plan()
    [order] = ready(store)
    with django_capture_on_commit_callbacks():
        orders_assign()
    order_cancel(order=order, actor=SYSTEM, reason="The customer came to the store")

    assert customers_tell_untold(now=Order.objects.get(pk=order.pk).updated_at + UNTOLD_GRACE * 2) == 0

    assert told(order) == [] and not Order.objects.get(pk=order.pk).schedule_untold


def test_orders_that_cannot_be_placed_cost_no_query_each(store, traveller, django_capture_on_commit_callbacks):
    UserFactory(username="ops", email="ops@program.example", is_staff=True)
    windows_plan()
    PickupWindow.objects.update(capacity_packages=0)
    ready(store, 5)
    with django_capture_on_commit_callbacks(execute=True):
        few = _queries(orders_assign)
    Order.objects.update(not_scheduled_reason="")
    ready(store, 45)
    with django_capture_on_commit_callbacks(execute=True):
        many = _queries(orders_assign)

    assert few == many
    assert len(mail.outbox) == 2  # one email a run, listing the orders
    assert "50 ready orders without a pickup window" in mail.outbox[1].subject


def _queries(call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


class TestMissed:
    def test_nobody_accepted_by_the_start_puts_orders_back_to_ready_and_tells_the_merchant(
        self, store, traveller, django_capture_on_commit_callbacks
    ):
        MembershipFactory(merchant=store.merchant)
        windows_plan()
        [order] = ready(store)
        orders_assign()
        order.refresh_from_db()
        window = order.pickup_window
        traveller.move_to(window.starts_at + timedelta(minutes=1))

        with django_capture_on_commit_callbacks(execute=True):
            assert windows_missed() == [window]

        window.refresh_from_db()
        order.refresh_from_db()
        assert window.status == "missed"
        # put back to ready, then scheduled again into a later window by the task enqueued on commit
        assert [e.type for e in order.events.all()][-2:] == ["order.pickup_missed", "order.scheduled"]
        assert order.pickup_window.starts_at > window.starts_at
        assert any("Pickup missed" in m.subject for m in mail.outbox)

    def test_an_empty_window_is_not_missed(self, store, traveller):
        window = WindowFactory(site=store.site, starts_at=MONDAY_8AM - timedelta(hours=1))

        assert windows_missed() == []
        window.refresh_from_db()
        assert window.status == "open"


def test_opening_hours_rows_have_one_per_weekday(store):
    assert OpeningHours.objects.filter(store=store).count() == 7


def test_an_order_whose_promise_day_passed_goes_out_as_soon_as_it_can(store, traveller):
    windows_plan()
    PickupWindow.objects.filter(local_date=date(2027, 1, 4)).update(capacity_packages=0)
    [order] = ready(store)
    orders_assign()
    order.refresh_from_db()
    assert order.status == "ready" and "until Monday, January 4" in order.not_scheduled_reason

    traveller.move_to(datetime(2027, 1, 5, 15, 0, tzinfo=UTC))  # Tuesday 08:00 local
    orders_assign()

    order.refresh_from_db()
    assert order.status == "scheduled" and order.pickup_window.local_date == date(2027, 1, 5)
