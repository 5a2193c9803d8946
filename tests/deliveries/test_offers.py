"""Offering windows in waves, the first valid accept winning, declines, expiry, risk, no-shows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from common.actors import SYSTEM
from common.errors import TransitionError
from deliveries.models import Offer
from deliveries.selectors import offer_for_driver
from deliveries.services import (
    offer_accept,
    offer_decline,
    offers_expire,
    window_give_back,
    window_offer_wave,
    window_taken_follow_up,
    windows_taken_unfollowed,
    windows_to_offer,
)
from deliveries.tasks import offer_windows
from notifications.models import Notification
from pickups.models import PickupWindow
from pickups.visits import window_arrive
from pickups.windows import windows_at_risk, windows_missed
from tests.factories import DriverFactory, UserFactory, WindowFactory

pytestmark = pytest.mark.django_db
MILE = Decimal("0.014493")  # of latitude


def driver_at(window, miles, **fields):
    site = window.site
    return DriverFactory(home_latitude=site.latitude + MILE * Decimal(miles), home_longitude=site.longitude, **fields)


def test_offers_start_with_the_nearest_drivers_and_widen_wave_by_wave(window, settings):
    settings.OFFER_WAVE_SIZE = 2
    far, near, nearest, too_far = (driver_at(window, m) for m in (8, 3, 1, 30))
    now = timezone.now()

    wave_gap = timedelta(minutes=settings.OFFER_WAVE_MINUTES)

    first = window_offer_wave(window_id=window.pk, now=now)
    again = window_offer_wave(window_id=window.pk, now=now)  # a second run before the wave is due
    second = window_offer_wave(window_id=window.pk, now=now + wave_gap)
    third = window_offer_wave(window_id=window.pk, now=now + 2 * wave_gap)

    assert [o.driver for o in first] == [nearest, near]
    assert again == []
    assert [o.driver for o in second] == [far]
    assert third == [] and too_far.offers.count() == 0
    window.refresh_from_db()
    assert window.status == "offered" and window.offer_wave == 3
    assert {o.distance_miles for o in first} == {Decimal("1.0"), Decimal("3.0")}


def test_ineligible_drivers_get_no_offer(window):
    busy = driver_at(window, 1)
    WindowFactory(site=window.site, starts_at=window.starts_at - timedelta(minutes=30), driver=busy, status="accepted")
    driver_at(window, 1, status="suspended")
    driver_at(window, 1, capacity_packages=2)
    driver_at(window, 4, max_distance_miles=Decimal("3"))

    assert window_offer_wave(window_id=window.pk, now=timezone.now()) == []


def test_each_offer_reaches_the_driver_by_text_and_in_the_app(window, django_capture_on_commit_callbacks):
    driver = driver_at(window, 1)

    with django_capture_on_commit_callbacks(execute=True):
        window_offer_wave(window_id=window.pk, now=timezone.now())

    sent = Notification.objects.filter(user=driver.user, template="offer_new")
    assert set(sent.values_list("channel", "status")) == {("sms", "sent"), ("in_app", "sent")}
    assert f"{window.booked_packages} packages" in sent.first().body


def test_offers_go_out_only_once_the_offer_time_has_come(window, settings):
    settings.OFFER_LEAD_MINUTES = 60  # the window starts in 90 minutes

    assert windows_to_offer(now=timezone.now()) == []
    assert windows_to_offer(now=timezone.now() + timedelta(minutes=31)) == [window.pk]


def test_accepting_takes_the_window_and_withdraws_the_other_offers(window, django_capture_on_commit_callbacks):
    winner, other = driver_at(window, 1), driver_at(window, 2)
    offers = window_offer_wave(window_id=window.pk, now=timezone.now())

    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        accepted = offer_accept(offer=offers[0], driver=winner)

    window.refresh_from_db()
    assert window.status == "accepted" and window.driver == winner and accepted.status == "accepted"
    # the ledger notes, the withdrawals and the messages follow after commit, in one task for the batch
    # (which queues one delivery task per channel: in-app, text)
    assert [callback.args[0] for callback in after_commit] == [
        "deliveries.tasks.follow_up_accept",
        "notifications.tasks.deliver_notifications",
        "notifications.tasks.deliver_notifications",
    ]
    assert Offer.objects.get(driver=other).status == "withdrawn"
    assert Notification.objects.filter(user=other.user, template="offer_withdrawn").exists()
    assert window.orders.get().events.filter(type="order.driver_assigned").exists()
    with pytest.raises(TransitionError, match="Already taken: another driver accepted this pickup first"):
        offer_accept(offer=Offer.objects.get(driver=other), driver=other)


def test_a_driver_cannot_accept_an_offer_made_to_someone_else(window):
    driver_at(window, 1)
    intruder = driver_at(window, 40)  # beyond every wave
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())

    with pytest.raises(Offer.DoesNotExist):
        offer_accept(offer=offer, driver=intruder)
    window.refresh_from_db()
    assert window.driver is None


def test_an_expired_offer_cannot_be_accepted_and_the_next_wave_follows(window, settings):
    settings.OFFER_WAVE_SIZE = 1
    first, second = driver_at(window, 1), driver_at(window, 2)
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    later = offer.expires_at + timedelta(seconds=1)

    assert offers_expire(now=later) == 1
    with pytest.raises(TransitionError, match="expired"):
        offer_accept(offer=offer, driver=first)
    assert windows_to_offer(now=later) == [window.pk]
    [next_offer] = window_offer_wave(window_id=window.pk, now=later)
    assert next_offer.driver == second


def test_declining_is_recorded_and_brings_the_next_wave_forward(window):
    driver = driver_at(window, 1)
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())

    offer_decline(offer=offer, driver=driver)

    offer.refresh_from_db()
    assert offer.status == "declined" and offer.responded_at
    window.refresh_from_db()
    assert window.next_wave_at <= timezone.now()
    with pytest.raises(TransitionError):
        offer_decline(offer=offer, driver=driver)


def test_a_window_without_a_driver_close_to_its_start_is_at_risk_and_admins_hear_once(
    window, django_capture_on_commit_callbacks
):
    UserFactory(username="ops", email="ops@program.example", is_staff=True)
    soon = window.starts_at - timedelta(minutes=20)

    with django_capture_on_commit_callbacks(execute=True):
        assert windows_at_risk(now=soon) == [window]
        assert windows_at_risk(now=soon) == []

    window.refresh_from_db()
    assert window.at_risk
    assert [m.to for m in mail.outbox] == [["ops@program.example"]]


def test_the_periodic_task_offers_due_windows(window, settings):
    settings.OFFER_LEAD_MINUTES = 120
    driver_at(window, 1)

    assert offer_windows() == 1


def test_a_driver_who_does_not_arrive_misses_the_window_and_orders_are_rescheduled(
    window, django_capture_on_commit_callbacks
):
    driver = driver_at(window, 1)
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)
    order = window.orders.get()

    with django_capture_on_commit_callbacks(execute=True):
        assert windows_missed(now=window.ends_at + timedelta(minutes=1)) == [window]

    window.refresh_from_db()
    order.refresh_from_db()
    assert window.status == "missed"
    assert order.events.filter(type="order.pickup_missed", details__reason="The driver did not arrive.").exists()


def test_arriving_starts_the_pickup_and_protects_it_from_the_no_show_sweep(window):
    driver = driver_at(window, 1)
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)

    on_time = window.starts_at - timedelta(minutes=10)
    location = (window.site.latitude, window.site.longitude)
    window_arrive(window_id=window.pk, driver_id=driver.pk, actor=SYSTEM, now=on_time, location=location)

    window.refresh_from_db()
    assert window.status == PickupWindow.Status.IN_PROGRESS
    assert windows_missed(now=window.ends_at + timedelta(minutes=1)) == []
    event = window.orders.get().events.get(type="order.driver_arrived")
    assert event.latitude == window.site.latitude
    with pytest.raises(TransitionError):
        window_arrive(window_id=window.pk, driver_id=driver.pk, actor=SYSTEM, now=on_time)


def test_the_accept_itself_writes_only_the_window_and_the_offer(window, django_assert_num_queries):
    """The winner holds the window's lock: no ledger notes, messages or withdrawals inside it."""
    winner, other = driver_at(window, 1), driver_at(window, 2)
    offers = window_offer_wave(window_id=window.pk, now=timezone.now())
    # (checked first as the caller read it) savepoints and their releases (the accept's, window_accept's),
    # the driver's lock, the offer again, the overlap check, the window's lock, its UPDATE and event, the
    # offer's UPDATE
    with django_assert_num_queries(11):
        offer_accept(offer=offers[0], driver=winner)  # its after-commit task has not run

    assert not window.orders.get().events.filter(type="order.driver_assigned").exists()
    assert Offer.objects.get(driver=other).status == "open"
    assert not Notification.objects.filter(template="offer_withdrawn").exists()


def test_a_driver_who_lost_the_race_hears_so_without_a_transaction(window, django_assert_num_queries):
    winner, other = driver_at(window, 1), driver_at(window, 2)
    offers = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offers[0], driver=winner)

    # as the API does: the driver's offer read (one query), then refused with no other query
    with django_assert_num_queries(1), pytest.raises(TransitionError, match="Already taken"):
        offer_accept(offer=offer_for_driver(driver=other, pk=offers[1].pk), driver=other)  # not withdrawn yet


def test_the_follow_up_notes_each_order_once_and_tells_the_others_once(window):
    winner, other = driver_at(window, 1), driver_at(window, 2)
    offers = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offers[0], driver=winner)

    assert window_taken_follow_up(window_id=window.pk) == 1
    assert window_taken_follow_up(window_id=window.pk) == 0  # a duplicate task changes nothing

    window.refresh_from_db()
    [note] = window.orders.get().events.filter(type="order.driver_assigned")
    assert note.occurred_at == window.accepted_at and note.actor_label == winner.first_name
    assert note.details == {"window": window.pk, "driver": winner.first_name, "vehicle": window.driver_vehicle}
    assert Notification.objects.filter(user=other.user, template="offer_withdrawn").count() == 2  # app, text


def test_a_window_given_back_before_its_follow_up_gets_no_note(window):
    winner = driver_at(window, 1)
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=winner)
    window_give_back(window=window, driver=winner)

    window_taken_follow_up(window_id=window.pk)

    assert not window.orders.get().events.filter(type="order.driver_assigned").exists()


def test_what_a_lost_follow_up_left_is_done_by_the_sweep(window):
    winner, other = driver_at(window, 1), driver_at(window, 2)
    offers = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offers[0], driver=winner)  # its after-commit task never ran
    assert windows_taken_unfollowed() == [window.pk]

    offer_windows()

    assert Offer.objects.get(driver=other).status == "withdrawn"
    assert Notification.objects.filter(user=other.user, template="offer_withdrawn", channel="in_app").exists()
    assert window.orders.get().events.filter(type="order.driver_assigned").count() == 1
    assert windows_taken_unfollowed() == []
