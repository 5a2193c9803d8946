"""The pickup window in the admin: where and when are fixed once it has bookings; its ledger is read-only."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries.services import offer_accept, window_offer_wave
from tests.factories import WindowFactory

pytestmark = pytest.mark.django_db

# `window` travels to a Monday in 2027: it comes before `admin_client` in the arguments, so the
# admin logs in at that time (a session started today would have expired there).


class _FormFields(HTMLParser):
    """What a browser would send from the admin's change form: its inputs, selects and textareas."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, {}
        self.names = set()  # every editable field's name, sent or not
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        if not self.inside or "name" not in attrs:
            return
        name, kind = attrs["name"], attrs.get("type")
        self.names.add(name)
        if tag == "input" and kind == "checkbox":
            if "checked" in attrs:
                self.data[name] = attrs.get("value") or "on"
        elif tag == "input" and kind != "submit":
            self.data[name] = attrs.get("value") or ""
        elif tag == "select":
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def change_page(window, admin_client):
    url = reverse("admin:pickups_pickupwindow_change", args=[window.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    fields = _FormFields("pickupwindow_form")
    fields.feed(response.content.decode())
    return url, response, fields


def test_a_booked_windows_place_and_times_cannot_be_changed(window, admin_client):
    # given a window with 3 packages booked
    starts_at, site_id = window.starts_at, window.site_id
    url, response, fields = change_page(window, admin_client)
    assert not {"starts_at_0", "starts_at_1", "ends_at_0", "ends_at_1", "site", "local_date"} & fields.names
    assert "capacity_packages" in fields.names

    # when an admin posts a later start anyway (a crafted request), with a new capacity
    later = timezone.localtime(starts_at + timedelta(hours=1))
    data = fields.data | {
        "starts_at_0": later.date().isoformat(),
        "starts_at_1": later.time().isoformat(),
        "capacity_packages": "10",
    }
    response = admin_client.post(url, data)

    # then the capacity is saved and the place and times are not
    assert response.status_code == 302, response.context["adminform"].form.errors
    window.refresh_from_db()
    assert (window.starts_at, window.site_id, window.capacity_packages) == (starts_at, site_id, 10)


def test_a_booked_windows_capacity_cannot_go_below_its_bookings(window, admin_client):
    url, _, fields = change_page(window, admin_client)

    response = admin_client.post(url, fields.data | {"capacity_packages": "2"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "capacity_packages": ["3 packages are already booked; the capacity cannot be lower."]
    }
    window.refresh_from_db()
    assert window.capacity_packages == 60


def test_an_empty_windows_times_can_still_be_edited(admin_client):
    window = WindowFactory()
    url, _, fields = change_page(window, admin_client)
    assert {"starts_at_0", "starts_at_1", "ends_at_0", "ends_at_1", "site", "local_date"} <= fields.names

    later = timezone.localtime(window.starts_at + timedelta(minutes=30)).replace(microsecond=0)
    response = admin_client.post(
        url, fields.data | {"starts_at_0": later.date().isoformat(), "starts_at_1": later.time().isoformat()}
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    window.refresh_from_db()
    assert window.starts_at == later


def test_a_window_across_midnight_or_off_its_day_is_refused(admin_client):
    window = WindowFactory()
    before = (window.starts_at, window.ends_at, window.local_date)
    url, _, fields = change_page(window, admin_client)
    starts = timezone.localtime(window.starts_at).replace(microsecond=0)
    next_day = timezone.localtime(window.starts_at + timedelta(days=1))

    across = admin_client.post(  # ends the next day
        url, fields.data | {"ends_at_0": next_day.date().isoformat(), "ends_at_1": starts.time().isoformat()}
    )
    off_day = admin_client.post(url, fields.data | {"local_date": next_day.date().isoformat()})

    for response in (across, off_day):
        assert response.status_code == 200
        [error] = response.context["adminform"].form.non_field_errors()
        assert "must start and end on" in error and window.site.timezone in error
    window.refresh_from_db()
    assert (window.starts_at, window.ends_at, window.local_date) == before


def test_the_windows_ledger_and_driver_are_shown_read_only(window, driver, admin_client):
    # given the window offered to a driver who accepted it: two ledger events
    (offer,) = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)

    _, response, fields = change_page(window, admin_client)

    page = response.content.decode()
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.prefix == "events"
    moves = [(event.from_status, event.to_status) for event in formset.queryset]
    assert moves == [("open", "offered"), ("offered", "accepted")]
    assert "Mall Pickup" in page  # who sent the offers
    assert "Silver sedan (Car)" in page
    assert not {"driver_name", "driver_vehicle"} & fields.names
    # nothing in the ledger can be edited, deleted or added here: its rows send only their hidden keys
    event_inputs = {name for name in fields.names if name.startswith("events-0-")}
    assert event_inputs == {"events-0-id", "events-0-window"}
    assert fields.data["events-MAX_NUM_FORMS"] == "0"
