"""The window's and the offer's tables of moves: illegal moves are refused and change nothing."""

import pytest
from django.utils import timezone

from common.actors import SYSTEM
from common.errors import TransitionError
from deliveries.models import Offer
from deliveries.services import offer_accept, offer_decline, offer_move, window_offer_wave
from pickups.models import OrderEvent, PickupWindow, WindowEvent
from pickups.visits import DriverCard, window_accept
from pickups.window_states import WINDOW_TRANSITIONS, window_move
from tests.factories import DriverFactory, WindowFactory

pytestmark = pytest.mark.django_db
Status = PickupWindow.Status


@pytest.mark.parametrize(
    "start, to",
    [(start, to) for start in Status for to in Status if to not in WINDOW_TRANSITIONS[start]],
)
def test_every_move_outside_the_table_is_refused(start, to):
    window = WindowFactory(status=start)

    with pytest.raises(TransitionError):
        window_move(window, to=to, actor=SYSTEM, at=timezone.now())

    window.refresh_from_db()
    assert window.status == start and not WindowEvent.objects.exists()


def test_a_move_stamps_its_time_saves_its_fields_and_appends_an_event():
    window = WindowFactory(status=Status.OFFERED)
    now = timezone.now()

    window_move(window, to=Status.ACCEPTED, actor=SYSTEM, at=now, reason="test", driver_name="Luis")

    window.refresh_from_db()
    assert window.status == "accepted" and window.accepted_at == now and window.driver_name == "Luis"
    event = window.events.get()
    assert (event.from_status, event.to_status, event.reason, event.actor_label) == (
        "offered",
        "accepted",
        "test",
        SYSTEM.label,
    )


def test_window_events_are_append_only():
    window = WindowFactory(status=Status.OPEN)
    window_move(window, to=Status.OFFERED, actor=SYSTEM, at=timezone.now())
    event = window.events.get()

    with pytest.raises(Exception, match="append-only"):
        event.save()
    with pytest.raises(Exception, match="append-only"):
        WindowEvent.objects.all().delete()


def test_the_life_of_a_window_is_in_its_ledger(window, driver, monday_morning, django_capture_on_commit_callbacks):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):  # the orders' notes follow the accept's commit
        offer_accept(offer=offer, driver=driver)

    assert list(window.events.values_list("from_status", "to_status")) == [("open", "offered"), ("offered", "accepted")]
    assert OrderEvent.objects.filter(type="order.driver_assigned", details__vehicle="Silver sedan (Car)").exists()


def test_offer_moves_outside_the_table_are_refused(window, driver, monday_morning):
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)

    with pytest.raises(TransitionError, match="accepted; it cannot become declined"):
        offer_decline(offer=offer, driver=driver)
    with pytest.raises(TransitionError):
        offer_move(offer, to=Offer.Status.EXPIRED, at=timezone.now())
    offer.refresh_from_db()
    assert offer.status == "accepted"


def test_a_window_that_started_or_is_taken_cannot_be_accepted(window, monday_morning):
    card = DriverCard(id=DriverFactory().pk, first_name="Dee", vehicle="Car", capacity_packages=40)
    window_offer_wave(window_id=window.pk, now=timezone.now())

    with pytest.raises(TransitionError, match="has started"):
        window_accept(window_id=window.pk, driver=card, actor=SYSTEM, now=window.starts_at)
    window_accept(window_id=window.pk, driver=card, actor=SYSTEM, now=timezone.now())
    with pytest.raises(TransitionError, match="Already taken"):
        window_accept(window_id=window.pk, driver=card, actor=SYSTEM, now=timezone.now())
