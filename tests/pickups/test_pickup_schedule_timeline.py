"""The pickup schedule as a day timeline per site: each site's own local day, the merchant's orders only,
bookings against capacity, a day switcher, and a constant number of queries."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from pickups.models import Order
from pickups.pickup_days import pickup_days
from tests.factories import MembershipFactory, SiteFactory, StoreFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db

URL = reverse("pickup_schedule")
# 06:30 UTC on Sunday 14 March 2027: 11:30 PM on Saturday in Chandler (MST all year), 1:30 AM on Sunday at
# Tysons, half an hour before its clocks spring forward to EDT. The two malls are on different days.
SPRING_NIGHT = datetime(2027, 3, 14, 6, 30, tzinfo=UTC)
SATURDAY, SUNDAY = date(2027, 3, 13), date(2027, 3, 14)


def window_at(site, day: date, opens: int, hours: int = 2, **fields):
    starts = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(site.timezone)) + timedelta(hours=opens)
    fields.setdefault("booked_packages", 0)
    return WindowFactory(site=site, local_date=day, starts_at=starts, ends_at=starts + timedelta(hours=hours), **fields)


def scheduled(store, window, count=1, packages=1, **overrides):
    """Orders of `store` in `window`, as the assignment leaves them (the window's bookings are the test's)."""
    orders = make_orders(store, count, packages=packages, **overrides)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=Order.Status.SCHEDULED, pickup_window=window)
    return orders


@pytest.fixture
def chandler():
    return SiteFactory(name="Chandler Fashion Center")


@pytest.fixture
def tysons():
    return SiteFactory(
        name="Tysons Corner Center",
        city="Tysons",
        state="VA",
        postal_code="22102",
        latitude=Decimal("38.917900"),
        longitude=Decimal("-77.222600"),
        timezone="America/New_York",
    )


@pytest.fixture
def two_malls(merchant, chandler, tysons):
    """The merchant's stores at both malls, with orders in windows on Saturday and Sunday at each."""
    desert = StoreFactory(merchant=merchant, site=chandler, name="Desert Bloom Chandler")
    capital = StoreFactory(merchant=merchant, site=tysons, name="Capital Kicks Tysons")
    at_tysons = {"postal_code": "22102", "city": "Tysons", "state": "VA"}
    return {
        "chandler_saturday": scheduled(desert, window_at(chandler, SATURDAY, 18), number="CH-SAT")[0],
        "chandler_sunday": scheduled(desert, window_at(chandler, SUNDAY, 10), number="CH-SUN")[0],
        "tysons_saturday": scheduled(capital, window_at(tysons, SATURDAY, 18), number="TY-SAT", **at_tysons)[0],
        "tysons_sunday_10": scheduled(capital, window_at(tysons, SUNDAY, 10), number="TY-SUN-10", **at_tysons)[0],
        "tysons_sunday_14": scheduled(capital, window_at(tysons, SUNDAY, 14), number="TY-SUN-14", **at_tysons)[0],
    }


def test_each_mall_shows_its_own_local_day_on_its_own_clock(merchant, two_malls):
    # when
    with time_machine.travel(SPRING_NIGHT, tick=False):
        schedule = pickup_days(merchant=merchant)

    # then Chandler is still on Saturday (MST), Tysons already on Sunday, the day its clocks go to EDT
    chandler, tysons = schedule.days
    assert (chandler.site.name, chandler.day, chandler.zone) == ("Chandler Fashion Center", SATURDAY, "MST")
    assert (tysons.site.name, tysons.day, tysons.zone) == ("Tysons Corner Center", SUNDAY, "EDT")
    assert [row.orders[0].external_id for row in chandler.rows] == ["CH-SAT"]
    assert [row.orders[0].external_id for row in tysons.rows] == ["TY-SUN-10", "TY-SUN-14"]
    # 10 AM and 2 PM EDT on a clock from 9 AM to 5 PM: a bar at 10 AM, not at 9 AM (its EST hour)
    ten, two = tysons.rows
    assert (ten.x, ten.width, two.x) == (12.5, 25.0, 62.5)
    assert [name for _, name in tysons.hours] == ["9 AM", "11 AM", "1 PM", "3 PM", "5 PM"]


def test_the_page_and_its_day_switcher_in_each_malls_local_time(client, owner, two_malls):
    with time_machine.travel(SPRING_NIGHT, tick=False):
        client.force_login(owner)  # a session of that night
        today = client.get(URL).content.decode()
        tomorrow = client.get(URL, {"day": 1}).content.decode()

    assert "Saturday, March 13 (MST)" in today and "6:00 PM – 8:00 PM MST" in today and "CH-SAT" in today
    assert "Sunday, March 14 (EDT)" in today and "10:00 AM – 12:00 PM EDT" in today and "2:00 PM – 4:00 PM EDT" in today
    assert "TY-SAT" not in today and "CH-SUN" not in today  # Tysons' yesterday, Chandler's tomorrow
    assert "Sunday, March 14 (MST)" in tomorrow and "10:00 AM – 12:00 PM MST" in tomorrow and "CH-SUN" in tomorrow
    assert "Monday, March 15 (EDT)" in tomorrow and "No pickups of your orders this day." in tomorrow
    # Today is 3 orders (1 at Chandler's Saturday, 2 at Tysons' Sunday), tomorrow 1; later days have no one date
    assert '<a href="?day=0" aria-current="page">Today' in today and '3<span class="sr-only"> orders' in today
    assert '<a href="?day=1">Tomorrow' in today and '1<span class="sr-only"> order</span>' in today
    assert '<a href="?day=2">In 2 days' in today
    assert '<a href="?day=1" aria-current="page">Tomorrow' in tomorrow


def test_on_the_same_date_everywhere_later_days_are_named(merchant, chandler, tysons, monday_morning):
    # 10 AM in Chandler, noon at Tysons: Monday at both
    StoreFactory(merchant=merchant, site=chandler)
    StoreFactory(merchant=merchant, site=tysons)

    labels = [choice.label for choice in pickup_days(merchant=merchant).choices]

    assert labels == ["Today", "Tomorrow", "Wed Jan 6", "Thu Jan 7", "Fri Jan 8", "Sat Jan 9", "Sun Jan 10"]


def test_a_window_shows_only_my_orders_my_parcels_and_its_bookings(monday_morning, owner_client, merchant, chandler):
    # given a window holding two orders of mine (3 and 1 parcels) and one of another shop's (2 parcels)
    mine = StoreFactory(merchant=merchant, site=chandler, name="Desert Bloom Chandler")
    theirs = StoreFactory(site=chandler, name="Neon Threads Chandler")
    shared = window_at(chandler, date(2027, 1, 4), 14, booked_packages=6)
    big = scheduled(mine, shared, packages=3, number="MINE-3")[0]
    small = scheduled(mine, shared, packages=1, number="MINE-1")[0]
    other = scheduled(theirs, shared, packages=2, number="THEIRS-2")[0]
    only_theirs = scheduled(theirs, window_at(chandler, date(2027, 1, 4), 17, booked_packages=2), number="THEIRS-B")

    # when
    [day] = pickup_days(merchant=merchant).days
    page = owner_client.get(URL).content.decode()

    # then one window (the other holds none of mine), with my two orders and 4 of the 6 parcels booked
    [row] = day.rows
    assert row.window == shared and {o.pk for o in row.orders} == {big.pk, small.pk}
    assert row.packages == 4 and (day.orders, day.packages, day.booked, day.capacity) == (2, 4, 6, 60)
    assert round(row.mine / row.width, 4) == round(4 / 60, 4) and round(row.booked / row.width, 4) == 0.1
    assert "MINE-3" in page and "Desert Bloom Chandler · 3 packages · Scheduled" in page and "MINE-1" in page
    assert "4 in 2 orders" in page and "6 / 60" in page and "2:00 PM – 4:00 PM MST" in page
    assert other.external_id not in page and only_theirs[0].external_id not in page and "Neon Threads" not in page
    assert "5:00 PM" not in page


def test_another_merchant_at_the_same_mall_sees_none_of_it(monday_morning, client, merchant, chandler):
    store = StoreFactory(merchant=merchant, site=chandler)
    scheduled(store, window_at(chandler, date(2027, 1, 4), 14, booked_packages=1), number="SECRET-1")
    neighbour = MembershipFactory()
    StoreFactory(merchant=neighbour.merchant, site=chandler)
    client.force_login(neighbour.user)

    page = client.get(URL).content.decode()

    assert "Chandler Fashion Center" in page and "No pickups of your orders this day." in page
    assert "SECRET-1" not in page and "1 / 60" not in page


def test_a_merchant_without_stores_has_nothing_planned(owner_client):
    page = owner_client.get(URL).content.decode()

    assert "No pickups planned" in page and "?day=1" not in page


@pytest.mark.parametrize("day", ["7", "-1", "tomorrow", "1.5", "٣"])
def test_a_day_out_of_range_is_a_400_naming_it_with_today_shown(owner_client, merchant, chandler, day):
    StoreFactory(merchant=merchant, site=chandler)

    response = owner_client.get(URL, {"day": day})

    assert response.status_code == 400
    page = response.content.decode()
    assert "day: choose a day from 0 (today) to 6" in page and '<a href="?day=0" aria-current="page">' in page


def test_anonymous_visitors_go_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("size", ["one mall, one order", "two malls, six windows, thirty orders"])
def test_the_page_runs_a_constant_number_of_queries(
    monday_morning, owner_client, merchant, chandler, tysons, size, django_assert_max_num_queries
):  # the clock is set before the login
    sites = [chandler] if size.startswith("one") else [chandler, tysons]
    for site in sites:
        store = StoreFactory(merchant=merchant, site=site)
        other = StoreFactory(site=site)
        local = {"postal_code": site.postal_code, "city": site.city, "state": site.state}
        for opens in [14] if size.startswith("one") else [12, 15, 18]:
            window = window_at(site, date(2027, 1, 4), opens, booked_packages=12)
            scheduled(store, window, count=1 if size.startswith("one") else 5, packages=2, **local)
            scheduled(other, window, **local)

    # session, user, membership, my sites, the day's windows, my orders in them, my orders per day
    with django_assert_max_num_queries(7):
        response = owner_client.get(URL)

    assert response.status_code == 200
    assert response.content.decode().count('class="day-line"') == (1 if size.startswith("one") else 6)
