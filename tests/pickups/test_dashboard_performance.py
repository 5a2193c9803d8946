"""The dashboard's figures (pickups.performance): what counts as on time, delivered, first attempt, and
which local day an order belongs to, on DST days in New York and in Phoenix (no DST)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from common.actors import SYSTEM
from pickups.ledger import events_append, order_event
from pickups.models import Order
from pickups.performance import OrderRow, days_of, figures_of, performance_csv, stores_performance
from tests.factories import MerchantFactory, SiteFactory, StoreFactory, WindowFactory, make_orders

S = Order.Status
NOW = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)
TODAY = date(2026, 11, 10)
T0 = datetime(2026, 11, 9, 16, 0, tzinfo=UTC)  # the day before, morning in the US


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def row(status, *moves, created=date(2026, 11, 9)):
    """An order made on `created` whose moves are (from, to, minutes after T0, window's end in minutes)."""
    return OrderRow(
        pk=1,
        store_id=1,
        created=created,
        status=status,
        moves=[(frm, to, at(minutes), None if end is None else at(end)) for frm, to, minutes, end in moves],
    )


MADE_READY = [(S.CREATED, S.READY, 0, None), (S.READY, S.SCHEDULED, 5, 120)]


class TestFigures:
    def test_a_pickup_by_the_windows_end_is_on_time_and_its_wait_is_from_ready(self):
        delivered = row(
            S.DELIVERED, *MADE_READY, (S.SCHEDULED, S.PICKED_UP, 90, None), (S.PICKED_UP, S.DELIVERED, 150, None)
        )

        figures = figures_of([delivered], TODAY, 7, NOW)

        assert (figures.orders, figures.pickups_due, figures.on_time) == (1, 1, 1)
        assert figures.median_ready_to_pickup == timedelta(minutes=90)
        assert (figures.attempted, figures.delivered, figures.first_attempt) == (1, 1, 1)
        assert figures.on_time_rate == figures.delivered_rate == figures.first_attempt_rate == 1

    def test_a_missed_pickup_is_late_even_if_the_next_window_is_kept(self):
        # scheduled into a window ending at +120, missed, then collected in time for the next window (+300)
        missed = row(
            S.PICKED_UP,
            *MADE_READY,
            (S.SCHEDULED, S.READY, 61, None),
            (S.READY, S.SCHEDULED, 62, 300),
            (S.SCHEDULED, S.PICKED_UP, 250, None),
        )

        figures = figures_of([missed], TODAY, 7, NOW)

        assert (figures.pickups_due, figures.on_time) == (1, 0)
        assert figures.median_ready_to_pickup == timedelta(minutes=250)
        assert figures.attempted == 0  # still on its way: no delivery figure yet

    def test_a_driver_after_the_window_is_late(self):
        late = row(S.PICKED_UP, *MADE_READY, (S.SCHEDULED, S.PICKED_UP, 121, None))

        assert figures_of([late], TODAY, 7, NOW).on_time == 0

    def test_a_window_over_without_a_pickup_is_due_and_late_but_not_one_still_to_come(self):
        waiting = row(S.SCHEDULED, *MADE_READY)  # its window ended at T0 + 2 h, long before NOW
        upcoming = row(S.SCHEDULED, (S.CREATED, S.READY, 0, None), (S.READY, S.SCHEDULED, 5, 2000))

        figures = figures_of([waiting, upcoming], TODAY, 7, NOW)

        assert (figures.pickups_due, figures.on_time, figures.pickups) == (1, 0, 0)
        assert figures.median_ready_to_pickup is None and figures.on_time_rate == 0

    def test_cancelled_before_its_pickup_is_not_due(self):
        cancelled = row(S.CANCELLED, *MADE_READY, (S.SCHEDULED, S.CANCELLED, 30, None))

        figures = figures_of([cancelled], TODAY, 7, NOW)

        assert (figures.pickups_due, figures.cancelled) == (0, 1)
        assert figures.on_time_rate is None

    def test_a_failed_attempt_then_a_delivery_counts_as_delivered_but_not_at_the_first_attempt(self):
        second = row(
            S.DELIVERED,
            *MADE_READY,
            (S.SCHEDULED, S.PICKED_UP, 100, None),
            (S.PICKED_UP, S.DELIVERY_FAILED, 150, None),
            (S.DELIVERY_FAILED, S.RETURNED, 200, None),
            (S.RETURNED, S.READY, 1440, None),  # attempt 2: a new pickup, due by its own first window
            (S.READY, S.SCHEDULED, 1445, 1600),
            (S.SCHEDULED, S.PICKED_UP, 1500, None),
            (S.PICKED_UP, S.DELIVERED, 1550, None),
        )
        failed = row(
            S.COLLECTED,
            *MADE_READY,
            (S.SCHEDULED, S.PICKED_UP, 100, None),
            (S.PICKED_UP, S.DELIVERY_FAILED, 150, None),
            (S.DELIVERY_FAILED, S.RETURNED, 200, None),
            (S.RETURNED, S.COLLECTED, 1440, None),
        )

        figures = figures_of([second, failed], TODAY, 7, NOW)

        assert (figures.attempted, figures.delivered, figures.first_attempt) == (2, 1, 0)
        assert (figures.failed, figures.returned) == (2, 2)
        assert (figures.pickups_due, figures.on_time) == (3, 3)
        assert figures.median_ready_to_pickup == timedelta(minutes=100)  # 100, 60 and 100 minutes

    def test_periods_count_the_orders_made_in_their_days(self):
        rows = [row(S.CREATED, created=TODAY - timedelta(days=n)) for n in (0, 6, 7, 29, 30)]

        assert figures_of(rows, TODAY, 7, NOW).orders == 2
        assert figures_of(rows, TODAY, 30, NOW).orders == 4

    def test_the_chart_has_every_day_even_empty_ones(self):
        rows = [row(S.DELIVERED, created=TODAY), row(S.RETURNED, created=TODAY), row(S.READY, created=TODAY)]

        days = days_of(rows, TODAY, 30)

        assert len(days) == 30 and days[0].day == TODAY - timedelta(days=29) and days[-1].day == TODAY
        assert days[-1].outcomes == {"delivered": 1, "failed": 1, "collected": 0, "cancelled": 0, "in_progress": 1}
        assert sum(day.total for day in days[:-1]) == 0


def made(store, moment, count=1):
    with time_machine.travel(moment, tick=False):
        return make_orders(store, count, latitude=store.site.latitude, longitude=store.site.longitude)


def write(order, moves):
    """Append the order's moves through the ledger's writer, and set its status as the moves leave it."""
    events = [order_event(order, f"order.{to}", SYSTEM, moment, frm, to, details) for frm, to, moment, details in moves]
    events_append(events)
    Order.objects.filter(pk=order.pk).update(status=moves[-1][1])


@pytest.mark.django_db
class TestFromTheLedger:
    def test_days_are_the_stores_local_days_across_the_fall_back_in_new_york(self):
        # Sunday Nov 1 2026 in New York lasts 25 hours: 00:30 EDT is 04:30 UTC, 23:30 EST is 04:30 UTC next day
        store = StoreFactory(site=SiteFactory(timezone="America/New_York"))
        made(store, datetime(2026, 11, 1, 4, 30, tzinfo=UTC))
        made(store, datetime(2026, 11, 2, 4, 30, tzinfo=UTC))
        made(store, datetime(2026, 11, 2, 5, 10, tzinfo=UTC))  # 00:10 EST on Nov 2
        made(store, datetime(2026, 11, 1, 3, 50, tzinfo=UTC))  # 23:50 EDT on Oct 31

        with time_machine.travel(datetime(2026, 11, 7, 17, 0, tzinfo=UTC), tick=False):
            [performance] = stores_performance([store])

        days = {day.day: day.total for day in performance.days}
        assert days[date(2026, 10, 31)] == 1 and days[date(2026, 11, 1)] == 2 and days[date(2026, 11, 2)] == 1
        seven = performance.period(7)
        assert (seven.first_day, seven.last_day, seven.orders) == (date(2026, 11, 1), date(2026, 11, 7), 3)

    def test_the_last_days_begin_at_local_midnight_in_phoenix_without_dst(self):
        # 06:30 UTC is still the evening before in Phoenix (UTC-7 all year), and the next day in New York
        phoenix = StoreFactory(site=SiteFactory(timezone="America/Phoenix"))
        tysons = StoreFactory(merchant=phoenix.merchant, site=SiteFactory(timezone="America/New_York"))
        made(phoenix, datetime(2026, 11, 2, 6, 30, tzinfo=UTC))
        made(tysons, datetime(2026, 11, 2, 6, 30, tzinfo=UTC))

        # on Sunday Nov 8 both weeks begin on Monday Nov 2, each at its own midnight
        with time_machine.travel(datetime(2026, 11, 8, 12, 0, tzinfo=UTC), tick=False):
            by_store = {p.store: p for p in stores_performance([phoenix, tysons])}

        assert by_store[phoenix].today == by_store[tysons].today == date(2026, 11, 8)
        assert by_store[phoenix].period(7).orders == 0  # made Nov 1 there
        assert by_store[tysons].period(7).orders == 1  # made Nov 2 there
        assert by_store[phoenix].days[-8].day == date(2026, 11, 1) and by_store[phoenix].days[-8].total == 1

    def test_on_time_is_measured_against_the_scheduled_windows_end(self):
        store = StoreFactory()
        starts = datetime(2026, 11, 9, 19, 0, tzinfo=UTC)
        window = WindowFactory(site=store.site, starts_at=starts, ends_at=starts + timedelta(hours=2))
        on_time, late = made(store, starts - timedelta(hours=3), count=2)
        for order, picked in (
            (on_time, starts + timedelta(minutes=30)),
            (late, starts + timedelta(hours=2, minutes=5)),
        ):
            write(
                order,
                [
                    (S.CREATED, S.READY, starts - timedelta(hours=2), {}),
                    (S.READY, S.SCHEDULED, starts - timedelta(hours=1), {"window": window.pk}),
                    (S.SCHEDULED, S.PICKED_UP, picked, {"window": window.pk}),
                    (S.PICKED_UP, S.DELIVERED, picked + timedelta(hours=1), {}),
                ],
            )

        with time_machine.travel(NOW, tick=False):
            [performance] = stores_performance([store])

        figures = performance.period(7)
        assert (figures.pickups_due, figures.on_time, figures.delivered) == (2, 1, 2)
        assert figures.median_ready_to_pickup == timedelta(hours=3, minutes=17, seconds=30)

    def test_two_queries_whatever_the_number_of_stores(self, django_assert_num_queries):
        merchant = MerchantFactory()
        stores = StoreFactory.create_batch(3, merchant=merchant)
        for store in stores:
            made(store, NOW - timedelta(days=2), count=2)

        with time_machine.travel(NOW, tick=False), django_assert_num_queries(2):
            performances = stores_performance(stores)

        assert [p.period(30).orders for p in performances] == [2, 2, 2]


@pytest.mark.django_db
def test_the_csv_defuses_formulas_in_store_names():
    store = StoreFactory(name='=HYPERLINK("http://evil.example")')
    made(store, NOW - timedelta(days=1))

    with time_machine.travel(NOW, tick=False):
        text = performance_csv(stores_performance([store]))

    lines = text.splitlines()
    assert lines[0].startswith("store,site,time_zone,period")
    assert lines[1].startswith('"\'=HYPERLINK(""http://evil.example"")",')
    assert ",7 days,2026-11-04,2026-11-10,1," in lines[1]
    assert sum(",day," in line for line in lines) == 30


def test_phoenix_time_has_no_dst():
    # a guard for the test above: Phoenix stays at UTC-7 in November, New York is at UTC-5
    moment = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
    assert moment.astimezone(ZoneInfo("America/Phoenix")).date() == date(2026, 11, 1)
    assert moment.astimezone(ZoneInfo("America/New_York")).date() == date(2026, 11, 2)
