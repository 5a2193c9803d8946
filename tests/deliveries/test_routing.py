"""deliveries.routing: the order of a run's stops, its miles and ETAs, VROOM and the fallback."""

import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise, permutations

import pytest

from common.distance import miles_between
from deliveries import routing
from deliveries.routing import Route, Stop, fallback_order, path_miles, plan_route, straight_line_miles

SITE = (Decimal("33.300000"), Decimal("-111.900000"))  # Chandler, AZ
DEPARTS_AT = datetime(2027, 1, 4, 18, 0, tzinfo=UTC)
# Five stops due east of the site, 0.01° (about 0.58 miles) apart: nearest to farthest is the shortest run.
LINE = [
    Stop(key=100 + n, latitude=Decimal("33.300000"), longitude=Decimal("-111.900000") + n / Decimal(100))
    for n in range(1, 6)
]
LINE_ORDER = [101, 102, 103, 104, 105]
SHUFFLED = [LINE[2], LINE[4], LINE[0], LINE[3], LINE[1]]


@pytest.fixture(autouse=True)
def _route_settings(settings):
    """The defaults, whatever the environment says."""
    settings.ROUTE_DISTANCE_MATRIX = "deliveries.routing.straight_line_miles"
    settings.ROUTE_AVERAGE_MPH = 25
    settings.ROUTE_STOP_MINUTES = 4


def highway_matrix(points):
    """Straight lines, except a 0.1-mile shortcut between the site and the farthest point: going far first wins."""
    miles = straight_line_miles(points)
    farthest = max(range(1, len(points)), key=lambda index: miles[0][index])
    miles[0][farthest] = miles[farthest][0] = 0.1
    return miles


def keys(route: Route) -> list[int]:
    return [leg.key for leg in route.legs]


def miles_from(a, b) -> float:
    lat1, lng1 = (a.latitude, a.longitude) if isinstance(a, Stop) else a
    return miles_between(lat1, lng1, b.latitude, b.longitude)


def test_plan_route_drives_a_line_of_stops_from_nearest_to_farthest():
    route = plan_route(start=SITE, stops=SHUFFLED, departs_at=DEPARTS_AT)

    assert keys(route) == LINE_ORDER
    assert [leg.miles for leg in route.legs] == [miles_from(SITE, LINE[0])] + [
        miles_from(a, b) for a, b in pairwise(LINE)
    ]
    assert route.total_miles == pytest.approx(sum(leg.miles for leg in route.legs))
    assert route.total_miles == pytest.approx(miles_from(SITE, LINE[-1]), rel=1e-6)  # a straight drive east


def test_etas_are_the_miles_at_average_speed_plus_the_time_at_each_previous_stop():
    first, second, *rest = plan_route(start=SITE, stops=SHUFFLED, departs_at=DEPARTS_AT).legs

    assert first.arrives_at == DEPARTS_AT + timedelta(hours=miles_from(SITE, LINE[0]) / 25)
    assert second.arrives_at == first.arrives_at + timedelta(minutes=4) + timedelta(
        hours=miles_from(LINE[0], LINE[1]) / 25
    )
    arrivals = [leg.arrives_at for leg in (first, second, *rest)]
    assert arrivals == sorted(arrivals) and len(set(arrivals)) == len(arrivals)


def test_vroom_plans_the_run_when_installed():
    pytest.importorskip("vroom")

    assert plan_route(start=SITE, stops=SHUFFLED, departs_at=DEPARTS_AT).engine == "vroom"


def test_a_due_by_that_only_going_far_first_can_meet_changes_the_order():
    pytest.importorskip("vroom")
    # about 7 minutes' drive straight there; 23 minutes or more after the four stops before it
    urgent = Stop(
        key=105, latitude=LINE[4].latitude, longitude=LINE[4].longitude, due_by=DEPARTS_AT + timedelta(minutes=10)
    )

    route = plan_route(start=SITE, stops=[*LINE[:4], urgent], departs_at=DEPARTS_AT)

    assert keys(route) == [105, 104, 103, 102, 101]
    assert route.legs[0].arrives_at <= urgent.due_by


def test_a_due_by_nobody_can_meet_is_dropped_and_every_stop_still_routed():
    pytest.importorskip("vroom")
    # given a deadline already past when the driver leaves
    late = Stop(
        key=103, latitude=LINE[2].latitude, longitude=LINE[2].longitude, due_by=DEPARTS_AT - timedelta(minutes=5)
    )

    route = plan_route(start=SITE, stops=[LINE[0], LINE[1], late, LINE[3], LINE[4]], departs_at=DEPARTS_AT)

    assert (keys(route), route.engine) == (LINE_ORDER, "vroom")


def test_a_matrix_passed_in_is_used():
    seen = []

    def recording_highway(points):
        seen.append(points)
        return highway_matrix(points)

    route = plan_route(start=SITE, stops=SHUFFLED, departs_at=DEPARTS_AT, matrix=recording_highway)

    assert keys(route) == [105, 104, 103, 102, 101]
    assert route.legs[0].miles == 0.1
    assert seen == [[(33.3, -111.9)] + [(float(stop.latitude), float(stop.longitude)) for stop in SHUFFLED]]


def test_the_setting_names_the_default_matrix(settings):
    settings.ROUTE_DISTANCE_MATRIX = "tests.deliveries.test_routing.highway_matrix"

    assert keys(plan_route(start=SITE, stops=SHUFFLED, departs_at=DEPARTS_AT)) == [105, 104, 103, 102, 101]


def test_one_stop_is_one_leg():
    route = plan_route(start=SITE, stops=[LINE[2]], departs_at=DEPARTS_AT)

    assert keys(route) == [103]
    assert route.total_miles == route.legs[0].miles == miles_from(SITE, LINE[2])
    assert route.legs[0].arrives_at == DEPARTS_AT + timedelta(hours=route.total_miles / 25)


def test_no_stops_is_an_empty_route():
    route = plan_route(start=SITE, stops=[], departs_at=DEPARTS_AT)

    assert (route.legs, route.total_miles) == ([], 0.0)


def test_without_vroom_the_fallback_plans_the_same_run(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "vroom", None)  # `import vroom` now raises ImportError

    route = plan_route(start=SITE, stops=SHUFFLED, departs_at=DEPARTS_AT)

    assert (keys(route), route.engine) == (LINE_ORDER, "fallback")
    assert "using the fallback" in caplog.text


def test_when_vroom_fails_the_fallback_plans_the_run(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(routing, "_vroom_solve", broken)

    route = plan_route(start=SITE, stops=SHUFFLED, departs_at=DEPARTS_AT)

    assert (keys(route), route.engine) == (LINE_ORDER, "fallback")
    assert [record.levelname for record in caplog.records] == ["WARNING"]


def test_fallback_order_on_the_line():
    points = [SITE] + [(stop.latitude, stop.longitude) for stop in SHUFFLED]

    order = fallback_order(straight_line_miles(points))

    assert [SHUFFLED[index - 1].key for index in order] == LINE_ORDER


def test_fallback_is_within_five_percent_of_the_optimum_on_random_runs():
    rng = random.Random(20261129)
    for _ in range(10):
        points = [(33.30, -111.90)] + [
            (33.30 + rng.uniform(-0.14, 0.14), -111.90 + rng.uniform(-0.17, 0.17)) for _ in range(8)
        ]
        miles = straight_line_miles(points)

        optimum = min(path_miles(miles, [0, *order]) for order in permutations(range(1, 9)))
        order = fallback_order(miles)

        assert sorted(order) == list(range(1, 9))
        assert path_miles(miles, [0, *order]) <= optimum * 1.05


def test_fallback_order_with_no_stops():
    assert fallback_order([[0.0]]) == []
