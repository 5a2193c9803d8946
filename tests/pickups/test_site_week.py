"""A week at a site in the admin: one row per local day, each window a bar by local clock time."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from pickups.models import PickupWindow
from pickups.site_week import site_week
from pickups.timelines import hour_range
from tests.factories import SiteFactory, UserFactory, WindowFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
URL = reverse("admin:pickups_pickupwindow_week")


def window_at(site, day: date, opens: int, hours: int = 2, **fields):
    starts = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(site.timezone)) + timedelta(hours=opens)
    return WindowFactory(site=site, local_date=day, starts_at=starts, ends_at=starts + timedelta(hours=hours), **fields)


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="ops", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([], (8, 22)),
        ([(10, 12), (18, 20)], (9, 21)),  # an hour to spare each side, twelve hours
        ([(10.5, 12.5)], (8, 14)),  # 9:00 to 14:00, and one more hour before to make the grid even
        ([(0.5, 2)], (0, 4)),  # never before midnight
    ],
)
def test_the_hours_shown_cover_every_window_in_an_even_number_of_hours(spans, expected):
    assert hour_range(spans) == expected
    assert (expected[1] - expected[0]) % 2 == 0


def test_bars_sit_at_local_clock_time_on_the_day_clocks_spring_forward():
    # Sunday 14 March 2027: New York moves from EST to EDT at 2 AM, so 10 AM is 9 hours after midnight.
    tysons = SiteFactory(name="Tysons Corner Center", timezone="America/New_York")
    spring = date(2027, 3, 14)
    window_at(tysons, spring, opens=10, booked_packages=15)
    window_at(tysons, spring, opens=18)

    week = site_week(site=tysons, start=spring)

    first = week.days[0]
    assert first.day == spring and (first.booked, first.capacity) == (15, 120)
    ten, six = first.bars
    assert (round(ten.x, 3), round(ten.width, 3), round(ten.filled, 3)) == (
        round(100 / 12, 3),
        round(200 / 12, 3),
        round(50 / 12, 3),
    )
    assert round(six.x, 3) == round(900 / 12, 3)
    assert ten.label == "10:00 AM–12:00 PM EDT: Open, 15 of 60 packages booked"
    assert [day.bars for day in week.days[1:]] == [[]] * 6


def test_the_admin_page_shows_one_site_its_days_and_links_each_window(staff_client, django_assert_max_num_queries):
    chandler, vegas = SiteFactory(name="Chandler Fashion Center"), SiteFactory(name="Fashion Show")
    monday = date(2027, 1, 4)
    taken = window_at(chandler, monday, opens=10, status=PickupWindow.Status.ACCEPTED, driver_name="Luis")
    window_at(vegas, monday, opens=12)

    def add_windows(slots):
        for day in range(1, 7):
            for slot in slots:
                window_at(chandler, monday + timedelta(days=day), opens=8 + 2 * slot)

    def page():
        return staff_client.get(URL, {"site": chandler.pk, "start": "2027-01-04"})

    add_windows(range(1))
    with django_assert_max_num_queries(8):
        small = page()
    add_windows(range(1, 5))
    with django_assert_max_num_queries(8):
        large = page()  # now five windows a day: the same queries

    html = large.content.decode()
    assert small.status_code == large.status_code == 200
    assert "A week at Chandler Fashion Center" in html
    assert "10:00 AM–12:00 PM MST: Driver assigned, 0 of 60 packages booked, driver Luis" in html
    assert reverse("admin:pickups_pickupwindow_change", args=[taken.pk]) in html
    assert "12:00 PM–2:00 PM PST" not in html  # Fashion Show's window is another site's
    assert html.count('class="site-week-day"') == 7


def test_a_day_it_cannot_read_is_said_not_guessed(staff_client):
    site = SiteFactory()

    response = staff_client.get(URL, {"site": site.pk, "start": "2027-13-01"})

    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()
    assert 'class="site-week"' not in response.content.decode()


def test_only_the_program_team_sees_it(client):
    response = client.get(URL)

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_the_windows_list_links_to_it(staff_client):
    SiteFactory()

    assert URL in staff_client.get(reverse("admin:pickups_pickupwindow_changelist")).content.decode()
