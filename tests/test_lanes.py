"""Transactions side by side (`common.lanes`), and bulk work's pause of the collector's full passes."""

import gc
import signal
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.backends.signals import connection_created

from common.bulk import full_collections_paused
from common.lanes import in_lanes
from merchants.models import Site
from tests.factories import SiteFactory

# Long enough for a slow CI machine, short enough that a lane that never comes fails the test quickly.
TOGETHER = 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_items_run_two_at_once_each_in_a_transaction_of_its_own_and_come_back_in_order():
    both_inside = threading.Barrier(2)

    def work(name):
        with transaction.atomic():
            SiteFactory(name=name)
            both_inside.wait(timeout=TOGETHER)  # returns only once the other lane is inside its transaction too
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                return name, threading.current_thread().name, cursor.fetchone()[0]

    results = in_lanes(work, ["Chandler", "Las Vegas", "Tysons", "Mesa"])

    assert [name for name, _, _ in results] == ["Chandler", "Las Vegas", "Tysons", "Mesa"]
    assert threading.current_thread().name not in {thread for _, thread, _ in results}
    assert len({pid for _, _, pid in results}) == 2  # a connection per lane
    assert set(Site.objects.values_list("name", flat=True)) == {"Chandler", "Las Vegas", "Tysons", "Mesa"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_lanes_close_their_connections():
    opened = []

    def on_new(sender, connection, **kwargs):
        if threading.current_thread() is not threading.main_thread():  # the test's own may open again too
            opened.append(connection)

    connection_created.connect(on_new)
    try:
        in_lanes(lambda name: SiteFactory(name=name).pk, ["Chandler", "Las Vegas", "Tysons"])
    finally:
        connection_created.disconnect(on_new)

    assert len(opened) == 2
    assert all(lane.connection is None for lane in opened)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failure_stops_the_lanes_and_is_raised_with_what_committed_before_it_kept():
    def work(number):
        with transaction.atomic():
            SiteFactory(name=f"Mall {number}")
            if number == 3:
                raise ValueError("No such mall")
        return number

    with pytest.raises(ValueError, match="No such mall"):
        in_lanes(work, list(range(20)))

    made = set(Site.objects.values_list("name", flat=True))
    assert {"Mall 0", "Mall 1", "Mall 2"} <= made  # taken before the failing item: committed
    assert "Mall 3" not in made  # rolled back
    # The other lane finishes the item it holds; then neither takes another (19 would commit if they went on).
    assert len(made) < 10


@pytest.mark.postgres
@pytest.mark.django_db
def test_inside_a_callers_transaction_items_run_in_its_thread_one_after_another():
    def work(name):
        SiteFactory(name=name)
        return threading.current_thread().name, Site.objects.count()

    results = in_lanes(work, ["Chandler", "Las Vegas", "Tysons"])

    # the rows of the caller's transaction are seen by each next item: one connection, in turn
    assert results == [(threading.current_thread().name, count) for count in (1, 2, 3)]


@pytest.mark.django_db(transaction=True)
def test_elsewhere_than_on_postgresql_items_run_one_after_another():
    if connection.vendor == "postgresql":
        pytest.skip("on PostgreSQL the items run in lanes")

    results = in_lanes(lambda name: (threading.current_thread().name, SiteFactory(name=name).name), ["A", "B"])

    assert results == [(threading.current_thread().name, "A"), (threading.current_thread().name, "B")]


def test_full_passes_resume_when_the_last_of_runs_at_once_ends():
    thresholds = gc.get_threshold()
    first, second = full_collections_paused(), full_collections_paused()

    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[2] > 10**9  # the second run is still inside
    second.__exit__(None, None, None)

    assert gc.get_threshold() == thresholds


def test_bulk_work_pauses_full_collections_only_and_only_inside():
    thresholds = gc.get_threshold()

    with pytest.raises(RuntimeError), full_collections_paused():
        young, middle, oldest = gc.get_threshold()
        assert (young, middle) == thresholds[:2]  # young passes go on freeing young cycles
        assert oldest > 10**9
        raise RuntimeError

    assert gc.get_threshold() == thresholds


class Interrupted(Exception):
    pass


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_interrupted_caller_stops_the_lanes_and_waits_for_the_items_they_hold():
    """As a Celery task's soft time limit interrupts it: raised in the caller's thread by a signal."""
    started = []

    def work(number):
        started.append(number)
        time.sleep(0.5)
        return number

    def interrupt(signum, frame):
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    try:
        with pytest.raises(Interrupted):
            in_lanes(work, list(range(20)))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    assert not [thread for thread in threading.enumerate() if thread.name.startswith("lane-")]  # none runs on
    assert 2 <= len(started) <= 4  # those the two lanes held when it came, perhaps one more each
