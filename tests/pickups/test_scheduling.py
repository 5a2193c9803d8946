"""Pure window and promise rules, on ordinary days and on the DST change days."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from pickups import scheduling
from pickups.scheduling import StoreCalendar, pickup_deadline, site_windows

MALL = StoreCalendar(hours={day: (time(10), time(21)) for day in range(6)} | {6: (time(11), time(18))})
TWO_HOURS = timedelta(hours=2)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def starts(slots):
    return [(slot.starts_at.hour, slot.starts_at.minute) for slot in slots]


@pytest.mark.parametrize(
    ("day", "zone", "first_start_utc"),
    [
        # 2027-03-14: the US springs forward; Arizona does not.
        (date(2027, 3, 13), "America/Los_Angeles", (18, 0)),  # 10:00 PST
        (date(2027, 3, 14), "America/Los_Angeles", (18, 0)),  # Sunday 11:00 PDT
        (date(2027, 3, 15), "America/Los_Angeles", (17, 0)),  # 10:00 PDT
        (date(2027, 3, 13), "America/New_York", (15, 0)),
        (date(2027, 3, 15), "America/New_York", (14, 0)),
        (date(2027, 3, 13), "America/Phoenix", (17, 0)),
        (date(2027, 3, 15), "America/Phoenix", (17, 0)),
        # 2026-11-01: the US falls back; Arizona does not.
        (date(2026, 10, 31), "America/Los_Angeles", (17, 0)),  # 10:00 PDT
        (date(2026, 11, 2), "America/Los_Angeles", (18, 0)),  # 10:00 PST
        (date(2026, 10, 31), "America/New_York", (14, 0)),
        (date(2026, 11, 2), "America/New_York", (15, 0)),
        (date(2026, 10, 31), "America/Phoenix", (17, 0)),
        (date(2026, 11, 2), "America/Phoenix", (17, 0)),
    ],
)
def test_windows_start_at_local_opening_time_whatever_the_offset(day, zone, first_start_utc):
    slots = site_windows(day=day, tz_name=zone, stores=[MALL], length=TWO_HOURS, spacing=TWO_HOURS)

    assert starts(slots)[0] == first_start_utc
    assert all(slot.local_date == day for slot in slots)


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "America/New_York", "America/Phoenix"])
@pytest.mark.parametrize("day", [date(2027, 3, 14), date(2026, 11, 1)])
def test_on_dst_sundays_every_window_lasts_two_real_hours(zone, day):
    night_shop = StoreCalendar(hours={6: (time(0), time(8))})

    slots = site_windows(day=day, tz_name=zone, stores=[night_shop], length=TWO_HOURS, spacing=TWO_HOURS)

    local = [scheduling.local_time(slot.starts_at, zone).hour for slot in slots]
    assert local == [0, 2, 4, 6] if zone == "America/Phoenix" or day.month == 11 else local == [0, 3, 4, 6]
    lengths = {slot.ends_at - slot.starts_at for slot in slots}
    if zone == "America/Phoenix":
        assert lengths == {TWO_HOURS}
    else:
        # the window that spans the change lasts one hour in spring and three in autumn
        assert lengths == ({TWO_HOURS, timedelta(hours=1)} if day.month == 3 else {TWO_HOURS, timedelta(hours=3)})


def test_the_same_instant_is_a_different_local_time_in_phoenix_and_las_vegas():
    summer_instant = utc(2027, 7, 1, 17, 0)

    assert scheduling.local_time(summer_instant, "America/Phoenix") == time(10)
    assert scheduling.local_time(summer_instant, "America/Los_Angeles") == time(10)
    winter_instant = utc(2027, 1, 5, 17, 0)
    assert scheduling.local_time(winter_instant, "America/Phoenix") == time(10)
    assert scheduling.local_time(winter_instant, "America/Los_Angeles") == time(9)


def test_windows_stay_inside_opening_hours_and_skip_closed_days():
    shop = StoreCalendar(hours={0: (time(9), time(17))}, closures=frozenset({date(2027, 1, 11)}))

    monday = site_windows(
        day=date(2027, 1, 4), tz_name="America/Phoenix", stores=[shop], length=TWO_HOURS, spacing=TWO_HOURS
    )
    closure = site_windows(
        day=date(2027, 1, 11), tz_name="America/Phoenix", stores=[shop], length=TWO_HOURS, spacing=TWO_HOURS
    )
    tuesday = site_windows(
        day=date(2027, 1, 5), tz_name="America/Phoenix", stores=[shop], length=TWO_HOURS, spacing=TWO_HOURS
    )

    assert [scheduling.local_time(s.starts_at, "America/Phoenix").hour for s in monday] == [9, 11, 13, 15]
    assert closure == [] and tuesday == []


def test_a_window_needs_one_store_open_throughout():
    morning = StoreCalendar(hours={0: (time(8), time(12))})
    evening = StoreCalendar(hours={0: (time(16), time(20))})

    slots = site_windows(
        day=date(2027, 1, 4), tz_name="America/Phoenix", stores=[morning, evening], length=TWO_HOURS, spacing=TWO_HOURS
    )

    assert [scheduling.local_time(s.starts_at, "America/Phoenix").hour for s in slots] == [8, 10, 16, 18]


class TestStoreOpenDuring:
    zone = "America/Los_Angeles"  # Las Vegas

    def slot(self, day, start, end, local_date=None):
        ends_on = day + timedelta(days=1) if end < start else day
        return scheduling.Slot(
            scheduling.to_utc(day, start, self.zone), scheduling.to_utc(ends_on, end, self.zone), local_date or day
        )

    @pytest.mark.parametrize("day", [date(2027, 3, 13), date(2027, 3, 14), date(2026, 11, 1)])  # DST days included
    def test_a_slot_within_the_days_hours_is_open(self, day):
        hours = MALL.hours_on(day)

        assert scheduling.store_open_during(MALL, self.slot(day, hours[0], time(hours[1].hour - 2)), self.zone)
        assert scheduling.store_open_during(MALL, self.slot(day, time(hours[1].hour - 2), hours[1]), self.zone)

    def test_a_slot_past_closing_or_before_opening_is_not(self):
        day = date(2027, 1, 4)  # a Monday: 10:00 to 21:00

        assert not scheduling.store_open_during(MALL, self.slot(day, time(20), time(22)), self.zone)
        assert not scheduling.store_open_during(MALL, self.slot(day, time(9), time(11)), self.zone)

    def test_a_slot_across_midnight_is_not_within_one_days_hours(self):
        # 22:00 to 01:00: each time alone is between 10:00 and 21:00 of some day, the slot is not
        day = date(2027, 1, 4)

        assert not scheduling.store_open_during(MALL, self.slot(day, time(22), time(1)), self.zone)

    def test_a_slot_on_another_day_than_its_own_is_not_open(self):
        monday = date(2027, 1, 4)
        slot = self.slot(monday, time(12), time(14), local_date=monday - timedelta(days=1))  # Sunday: 11:00 to 18:00

        assert not scheduling.store_open_during(MALL, slot, self.zone)


class TestPromise:
    zone = "America/Phoenix"

    def deadline(self, level, ready_local_hour, day=date(2027, 1, 4), calendar=MALL):
        ready_at = scheduling.to_utc(day, time(ready_local_hour), self.zone)
        return pickup_deadline(
            service_level=level, ready_at=ready_at, tz_name=self.zone, calendar=calendar, cutoff=time(14)
        ).last_day

    def test_same_day_before_the_cutoff_is_that_day(self):
        assert self.deadline("same_day", 13) == date(2027, 1, 4)

    def test_same_day_after_the_cutoff_is_the_next_open_day(self):
        assert self.deadline("same_day", 15) == date(2027, 1, 5)

    def test_after_the_cutoff_closures_are_skipped(self):
        calendar = StoreCalendar(hours=MALL.hours, closures=frozenset({date(2027, 1, 5), date(2027, 1, 6)}))

        assert self.deadline("same_day", 15, calendar=calendar) == date(2027, 1, 7)

    def test_ready_on_a_closed_day_goes_to_the_next_open_day(self):
        weekdays = StoreCalendar(hours={day: (time(9), time(17)) for day in range(5)})

        assert self.deadline("same_day", 10, day=date(2027, 1, 9), calendar=weekdays) == date(2027, 1, 11)

    def test_two_day_is_within_the_next_two_open_days(self):
        weekdays = StoreCalendar(hours={day: (time(9), time(17)) for day in range(5)})

        assert self.deadline("two_day", 10, day=date(2027, 1, 7), calendar=weekdays) == date(2027, 1, 11)

    def test_a_store_that_never_opens_cannot_promise(self):
        promise = pickup_deadline(
            service_level="same_day",
            ready_at=utc(2027, 1, 4, 20),
            tz_name=self.zone,
            calendar=StoreCalendar(hours={}),
            cutoff=time(14),
        )

        assert promise.last_day is None and "no open day" in promise.reason

    @pytest.mark.parametrize(
        ("instant", "las_vegas_day", "chandler_day"),
        [
            # Saturday 2027-03-13, 21:30 UTC: 13:30 PST in Las Vegas, 14:30 MST in Chandler
            (utc(2027, 3, 13, 21, 30), date(2027, 3, 13), date(2027, 3, 14)),
            # Sunday 2027-03-14, 21:30 UTC: Las Vegas is now on PDT, 14:30 like Chandler
            (utc(2027, 3, 14, 21, 30), date(2027, 3, 15), date(2027, 3, 15)),
        ],
    )
    def test_the_cutoff_is_each_stores_local_time(self, instant, las_vegas_day, chandler_day):
        def deadline(zone):
            return pickup_deadline(
                service_level="same_day", ready_at=instant, tz_name=zone, calendar=MALL, cutoff=time(14)
            ).last_day

        assert deadline("America/Los_Angeles") == las_vegas_day
        assert deadline("America/Phoenix") == chandler_day
