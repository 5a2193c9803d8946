"""The order a driver visits the stops of a delivery run, with miles and ETAs for each leg.

Pure code: points, times and settings in, a `Route` out; no database. The order comes from VROOM
(`pyvroom`) on a duration matrix at the average speed; if VROOM is missing or fails, a nearest
neighbour tour improved by 2-opt stands in, so a run is always planned. Distances come from a
pluggable `DistanceMatrix` (straight lines by default; a road-distance service can replace it
through the `ROUTE_DISTANCE_MATRIX` setting).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from django.conf import settings
from django.utils.module_loading import import_string

from common.distance import miles_between

logger = logging.getLogger(__name__)

Point = tuple[float, float]  # (latitude, longitude)
Matrix = list[list[float]]  # miles from row point to column point
DistanceMatrix = Callable[[list[Point]], Matrix]

# VROOM's most thorough search: a run of a few dozen stops still solves in milliseconds.
VROOM_EXPLORATION_LEVEL = 5
VROOM_THREADS = 1


@dataclass(frozen=True)
class Stop:
    """A customer's drop-off: `key` is the order id; `due_by` ends the customer's promised window.

    `ready_by` is carried for the caller; the planner does not use it (a leg's ETA never waits).
    """

    key: int
    latitude: Decimal | float
    longitude: Decimal | float
    ready_by: datetime | None = None
    due_by: datetime | None = None


@dataclass(frozen=True)
class Leg:
    """The drive to one stop: miles from the previous point and the arrival time there."""

    key: int
    miles: float
    arrives_at: datetime


@dataclass(frozen=True)
class Route:
    """The legs in visiting order; `engine` says what chose the order: "vroom" or "fallback"."""

    legs: list[Leg]
    total_miles: float
    engine: str


def straight_line_miles(points: list[Point]) -> Matrix:
    """Great-circle miles between every pair of points: the default distance source (no road network)."""
    return [[miles_between(*a, *b) for b in points] for a in points]


def plan_route(*, start: Point, stops: list[Stop], departs_at: datetime, matrix: DistanceMatrix | None = None) -> Route:
    """The order to visit `stops` from `start` (the site), open-ended, with the fewest miles driven.

    A leg's ETA is the previous arrival (or `departs_at`) plus its miles at ROUTE_AVERAGE_MPH, plus
    ROUTE_STOP_MINUTES spent at the previous stop. Stops' `due_by` deadlines are kept when VROOM finds
    an order that meets them all; if it would have to leave a stop off to meet them, the run is planned
    again with no deadlines at all, since every parcel on it must go (late rather than not at all).
    The fallback ignores deadlines. `matrix` defaults to the callable named by ROUTE_DISTANCE_MATRIX.
    """
    if not stops:
        return Route(legs=[], total_miles=0.0, engine="vroom" if _load_vroom() else "fallback")
    distance_matrix = matrix or import_string(settings.ROUTE_DISTANCE_MATRIX)
    points = [(float(start[0]), float(start[1]))] + [(float(s.latitude), float(s.longitude)) for s in stops]
    miles = distance_matrix(points)
    mph, stop_minutes = float(settings.ROUTE_AVERAGE_MPH), float(settings.ROUTE_STOP_MINUTES)
    deadlines = [_seconds_after(departs_at, stop.due_by) for stop in stops]
    try:
        order, engine = vroom_order(miles, deadlines=deadlines, mph=mph, stop_minutes=stop_minutes), "vroom"
    except Exception:  # not installed, or failed on this input: a run must still be planned
        logger.warning("VROOM could not plan a run of %d stops; using the fallback", len(stops), exc_info=True)
        order, engine = fallback_order(miles), "fallback"
    legs = _legs(miles, order, stops=stops, departs_at=departs_at, mph=mph, stop_minutes=stop_minutes)
    return Route(legs=legs, total_miles=sum(leg.miles for leg in legs), engine=engine)


def vroom_order(miles: Matrix, *, deadlines: list[int | None], mph: float, stop_minutes: float) -> list[int]:
    """Point indices (1..n) in VROOM's visiting order, for one vehicle starting at point 0 with no end.

    Durations are whole seconds at `mph`, so minimising time minimises miles. `deadlines` (seconds
    after departure, one per stop) become hard time windows; if VROOM has to drop a stop to meet
    them, it solves again without any, because every parcel on the run must be delivered.
    """
    vroom = _load_vroom()
    if vroom is None:
        raise ImportError("pyvroom is not installed")
    durations = [[round(row_miles / mph * 3600) for row_miles in row] for row in miles]
    order = _vroom_solve(vroom, durations, deadlines, service=round(stop_minutes * 60))
    if len(order) < len(deadlines):
        order = _vroom_solve(vroom, durations, [None] * len(deadlines), service=round(stop_minutes * 60))
    if sorted(order) != list(range(1, len(miles))):
        raise RuntimeError(f"VROOM routed {len(order)} of {len(miles) - 1} stops")
    return order


def fallback_order(miles: Matrix) -> list[int]:
    """Point indices (1..n) from point 0: nearest-neighbour paths improved by 2-opt, the shortest kept.

    One nearest-neighbour path is built per possible first stop, because a single one often stays
    stuck well above the optimum after 2-opt (bench/README.md has the figures); n of them cost
    milliseconds for a run of a dozen stops.
    """
    paths = (_two_opt(miles, _nearest_neighbour(miles, first)) for first in range(1, len(miles)))
    return min(paths, key=lambda path: path_miles(miles, path), default=[0])[1:]


def path_miles(miles: Matrix, path: list[int]) -> float:
    """Miles driven along `path`, a list of point indices, without returning to its start."""
    return sum(miles[a][b] for a, b in pairwise(path))


def _vroom_solve(vroom, durations: list[list[int]], deadlines: list[int | None], *, service: int) -> list[int]:
    """One VROOM solve; returns the point indices of the stops it routed, in order (maybe fewer than asked)."""
    problem = vroom.Input()
    problem.set_durations_matrix("car", durations)
    problem.add_vehicle(vroom.Vehicle(0, start=0))
    for index, deadline in enumerate(deadlines, start=1):
        windows = [] if deadline is None else [vroom.TimeWindow(0, deadline)]
        problem.add_job(vroom.Job(index, location=index, default_service=service, time_windows=windows))
    routes = problem.solve(exploration_level=VROOM_EXPLORATION_LEVEL, nb_threads=VROOM_THREADS).routes
    return [int(index) for index in routes.loc[routes["type"] == "job", "location_index"]]


def _legs(
    miles: Matrix, order: list[int], *, stops: list[Stop], departs_at: datetime, mph: float, stop_minutes: float
) -> list[Leg]:
    """The legs along `order`, each ETA built on the previous one (see `plan_route`)."""
    legs, previous, arrives_at = [], 0, departs_at
    for index in order:
        leg_miles = miles[previous][index]
        dwell = timedelta(minutes=stop_minutes) if previous else timedelta()
        arrives_at = arrives_at + dwell + timedelta(hours=leg_miles / mph)
        legs.append(Leg(key=stops[index - 1].key, miles=leg_miles, arrives_at=arrives_at))
        previous = index
    return legs


def _nearest_neighbour(miles: Matrix, first: int) -> list[int]:
    """The path 0, `first`, then always the nearest stop not yet visited (ties to the lower index)."""
    path, unvisited = [0, first], set(range(1, len(miles))) - {first}
    while unvisited:
        nearest = min(unvisited, key=lambda point: (miles[path[-1]][point], point))
        path.append(nearest)
        unvisited.remove(nearest)
    return path


def _two_opt(miles: Matrix, path: list[int]) -> list[int]:
    """`path` with stretches reversed (the open end included) while that drives fewer miles; 0 stays first.

    Lengths are recomputed whole rather than by the four changed ends, so a one-way (asymmetric)
    matrix is handled correctly.
    """
    improved = True
    while improved:
        improved = False
        for i in range(1, len(path) - 1):
            for j in range(i + 1, len(path)):
                candidate = path[:i] + path[i : j + 1][::-1] + path[j + 1 :]
                if path_miles(miles, candidate) < path_miles(miles, path) - 1e-9:
                    path, improved = candidate, True
    return path


def _seconds_after(departs_at: datetime, due_by: datetime | None) -> int | None:
    """A deadline as whole seconds after departure, for VROOM; one already past becomes 0 (unmeetable)."""
    if due_by is None:
        return None
    return max(0, int((due_by - departs_at).total_seconds()))


def _load_vroom():
    """The `vroom` module, or None if pyvroom is not installed; imported on first use (it pulls pandas)."""
    try:
        import vroom
    except ImportError:
        return None
    return vroom
