"""Benchmark of `deliveries.routing.plan_route()`: how far its stop order is from the shortest one.

Draws random delivery runs (stops uniformly within 10 miles of a Chandler site), finds each run's
exact optimum by Held-Karp dynamic programming over the same straight-line matrix (an open path
from the site), and compares the miles of `plan_route()`'s order, with VROOM and with the fallback
(nearest neighbour + 2-opt), against it. No database: only the three ROUTE_* settings are needed.
See bench/README.md.
"""

# ruff: noqa: E402 -- the project imports below need the project root on sys.path first.

import argparse
import json
import logging
import math
import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from statistics import mean
from time import perf_counter
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: make the project importable

from django.conf import settings

if not os.environ.get("DJANGO_SETTINGS_MODULE"):
    # The defaults of config/settings/base.py, without the rest of the project's settings.
    settings.configure(
        ROUTE_DISTANCE_MATRIX="deliveries.routing.straight_line_miles", ROUTE_AVERAGE_MPH=25.0, ROUTE_STOP_MINUTES=4
    )

from common.distance import EARTH_RADIUS_MILES
from deliveries import routing
from deliveries.routing import Stop, path_miles, plan_route, straight_line_miles

SITE = (33.3017, -111.8970)  # Chandler Fashion Center, as in bench/assign_orders.py
RADIUS_MILES = 10.0
DEPARTS_AT = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
AT_OPTIMUM = 1e-6  # a relative gap below this counts as the optimum (float noise, not a longer path)


@dataclass
class Tally:
    """One engine's results over every instance."""

    gaps: list[float] = field(default_factory=list)
    milliseconds: list[float] = field(default_factory=list)


def main() -> int:
    args = parse_args()
    code = revision()
    rng = random.Random(args.seed)
    tallies = {"vroom": Tally(), "fallback": Tally()}
    routing._load_vroom()  # import pyvroom (and pandas, about half a second) before any clock starts
    started = perf_counter()
    for _ in range(args.instances):
        stops = [random_stop(key, rng) for key in range(1, args.stops + 1)]
        points = [SITE] + [(stop.latitude, stop.longitude) for stop in stops]
        miles = straight_line_miles(points)
        optimum = held_karp_miles(miles)
        for engine, tally in tallies.items():
            route, milliseconds = timed_plan(stops, engine)
            order = [0] + [leg.key for leg in route.legs]  # a stop's key is its point index
            assert sorted(order[1:]) == list(range(1, args.stops + 1)), f"{engine} did not visit every stop once"
            assert math.isclose(path_miles(miles, order), route.total_miles), f"{engine}'s legs do not add up"
            tally.gaps.append(route.total_miles / optimum - 1)
            tally.milliseconds.append(milliseconds)
    seconds = perf_counter() - started
    report(args, tallies, code, seconds)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200, help="random runs to plan (default 200)")
    parser.add_argument("--stops", type=int, default=10, help="stops per run (default 10; Held-Karp is 2^n)")
    parser.add_argument("--seed", type=int, default=20261129, help="random seed (default 20261129)")
    return parser.parse_args()


def random_stop(key: int, rng: random.Random) -> Stop:
    """A stop uniformly distributed over the disc of RADIUS_MILES around SITE (great-circle)."""
    distance = RADIUS_MILES * math.sqrt(rng.random()) / EARTH_RADIUS_MILES
    bearing = rng.uniform(0, 2 * math.pi)
    lat1, lng1 = math.radians(SITE[0]), math.radians(SITE[1])
    lat2 = math.asin(math.sin(lat1) * math.cos(distance) + math.cos(lat1) * math.sin(distance) * math.cos(bearing))
    lng2 = lng1 + math.atan2(
        math.sin(bearing) * math.sin(distance) * math.cos(lat1), math.cos(distance) - math.sin(lat1) * math.sin(lat2)
    )
    return Stop(key=key, latitude=math.degrees(lat2), longitude=math.degrees(lng2))


def held_karp_miles(miles: list[list[float]]) -> float:
    """The exact shortest open path from point 0 through every other point (O(2^n n^2) dynamic program).

    best[visited][last] is the shortest path from point 0 through the stops in the bit set `visited`,
    ending at stop `last` (stop i is point i + 1).
    """
    n = len(miles) - 1
    best = [[math.inf] * n for _ in range(1 << n)]
    for last in range(n):
        best[1 << last][last] = miles[0][last + 1]
    for visited in range(1, 1 << n):
        row = best[visited]
        for last in range(n):
            so_far = row[last]
            if so_far == math.inf:
                continue
            from_last = miles[last + 1]
            for nxt in range(n):
                if visited & (1 << nxt):
                    continue
                candidate = so_far + from_last[nxt + 1]
                if candidate < best[visited | (1 << nxt)][nxt]:
                    best[visited | (1 << nxt)][nxt] = candidate
    return min(best[(1 << n) - 1])


def timed_plan(stops: list[Stop], engine: str):
    """`plan_route()` end to end (matrix, order, legs) with the engine asked for, and its wall time in ms."""
    if engine == "vroom":
        started = perf_counter()
        route = plan_route(start=SITE, stops=stops, departs_at=DEPARTS_AT)
    else:  # as if pyvroom were not installed
        with mock.patch.object(routing, "_load_vroom", return_value=None):
            started = perf_counter()
            route = plan_route(start=SITE, stops=stops, departs_at=DEPARTS_AT)
    milliseconds = (perf_counter() - started) * 1000
    assert route.engine == engine, f"asked for {engine}, planned by {route.engine}"
    return route, milliseconds


def report(args: argparse.Namespace, tallies: dict[str, Tally], code: str, seconds: float) -> None:
    print(
        f"route quality: {args.instances} runs of {args.stops} stops within {RADIUS_MILES:g} miles of the site, "
        f"seed {args.seed}, straight-line miles, optimum by Held-Karp ({seconds:.1f} s in all)"
    )
    print(f"  code {code}, Python {sys.version.split()[0]}, pyvroom {version('pyvroom')}")
    print(f"  {'engine':<10} {'mean gap %':>10} {'worst gap %':>11} {'at optimum':>12} {'mean solve ms':>13}")
    summary = {"instances": args.instances, "stops": args.stops, "seed": args.seed}
    for engine, tally in tallies.items():
        at_optimum = sum(gap < AT_OPTIMUM for gap in tally.gaps)
        numbers = {
            "mean_gap_pct": round(mean(tally.gaps) * 100, 3),
            "worst_gap_pct": round(max(tally.gaps) * 100, 3),
            "at_optimum": at_optimum,
            "mean_ms": round(mean(tally.milliseconds), 3),
        }
        summary[engine] = numbers
        print(
            f"  {engine:<10} {numbers['mean_gap_pct']:>10.3f} {numbers['worst_gap_pct']:>11.3f} "
            f"{f'{at_optimum}/{args.instances}':>12} {numbers['mean_ms']:>13.2f}"
        )
    print(json.dumps(summary))


def revision() -> str:
    """The commit measured, "-dirty" if tracked files differ from it."""
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return git.stdout.strip() or "unknown"


if __name__ == "__main__":
    logging.getLogger("deliveries.routing").setLevel(logging.ERROR)  # the forced fallback warns on every run
    sys.exit(main())
