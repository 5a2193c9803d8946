"""Benchmark of `pickups.windows.orders_assign()`: ready orders put into pickup windows, at scale.

Builds N Chandler-area sites (one store each, open 10:00-20:00 every day) with a planned week of
windows and M ready same-day orders per site, all by bulk inserts; then times one `orders_assign()`
over every order, counts its SQL queries and its peak Python memory, and compares it with a single
`UPDATE ... WHERE id IN (...)` of the same rows. See bench/README.md.

It flushes the whole database it is pointed at, so it only runs on one whose name contains "bench".
"""

# ruff: noqa: E402 -- the app imports below need django.setup() to have run first.

import argparse
import json
import os
import random
import subprocess
import sys
import tracemalloc
from collections import deque
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: make the project importable
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# Production-like by default: with DEBUG on, Django keeps the SQL text of every query in memory.
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Sum
from django.test.utils import CaptureQueriesContext
from psycopg import connect, sql

from common.distance import miles_between
from merchants.models import Merchant, OpeningHours, Site, Store
from pickups.models import CODE_ALPHABET, Order, Package, PickupWindow
from pickups.windows import Assignment, orders_assign, windows_plan

# Monday 2027-01-04, 08:00 in Chandler (UTC-7 all year: Arizona has no DST), as in the tests.
NOW = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)
TIMEZONE = "America/Phoenix"
CHANDLER = (33.3017, -111.8970)
OPENS, CLOSES = time(10), time(20)
# Five two-hour windows of 60 packages between 10:00 and 20:00: more same-day orders than this stay ready.
MAX_ORDERS_PER_SITE = 5 * 60
BATCH = 5000


def main() -> int:
    args = parse_args()
    code = revision()  # now, as the code under test may be committed over while this runs
    prepare_database()

    started = perf_counter()
    order_ids, windows = build(args.sites, args.orders_per_site)
    setup_seconds = perf_counter() - started
    packages = len(order_ids)  # one package per order

    # 1. Time and queries. Capturing costs little (a copy of each statement's text); tracemalloc would
    # slow the Python side down severalfold, so memory gets a run of its own (3).
    settle()
    connection.queries_log = deque()  # CaptureQueriesContext reads this log, which by default keeps 9,000 queries
    with CaptureQueriesContext(connection) as captured:
        started = perf_counter()
        result = orders_assign(now=NOW)
        seconds = perf_counter() - started
    problems = verify(result, order_ids, packages)

    # 2. The floor: the database flipping the same rows in one statement.
    reset(order_ids)
    settle()
    started = perf_counter()
    Order.objects.filter(pk__in=order_ids).update(status=Order.Status.SCHEDULED, updated_at=NOW)
    bulk_update_seconds = perf_counter() - started

    # 3. Peak memory; the database is left as this run assigned it.
    reset(order_ids)
    settle()
    tracemalloc.start()
    result = orders_assign(now=NOW)
    peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    problems += verify(result, order_ids, packages)

    numbers = {
        "sites": args.sites,
        "orders": len(order_ids),
        "seconds": round(seconds, 3),
        "orders_per_second": round(len(order_ids) / seconds, 1),
        "queries": len(captured),
        "peak_mib": round(peak_mib, 1),
        "bulk_update_seconds": round(bulk_update_seconds, 3),
        "ratio": round(seconds / bulk_update_seconds, 1),
    }
    report(numbers, code, windows, setup_seconds, captured.captured_queries, problems)
    print(json.dumps(numbers))
    return 1 if problems else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=1000, help="sites, one store each (default 1000)")
    parser.add_argument(
        "--orders-per-site",
        type=int,
        default=100,
        help=f"ready orders per site, 1 to {MAX_ORDERS_PER_SITE} (default 100)",
    )
    args = parser.parse_args()
    if args.sites < 1 or not 1 <= args.orders_per_site <= MAX_ORDERS_PER_SITE:
        parser.error(f"need at least one site and 1 to {MAX_ORDERS_PER_SITE} orders per site (a day's capacity)")
    return args


def prepare_database() -> None:
    """Refuse anything but a PostgreSQL bench database; create it if missing, migrate it, empty it."""
    if connection.vendor != "postgresql":
        sys.exit(f"PostgreSQL only (row locks, skip locked); this is {connection.vendor}: set DATABASE_URL.")
    db = settings.DATABASES["default"]
    if "bench" not in db["NAME"]:
        sys.exit(f"The benchmark empties its database; {db['NAME']!r} does not look like a bench database.")
    server = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"], "password": db["PASSWORD"]}
    with connect(dbname="postgres", autocommit=True, **server) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


def build(sites: int, orders_per_site: int) -> tuple[list[int], int]:
    """The merchant, sites, stores, hours, a week of windows and the ready orders; returns order ids, windows."""
    rng = random.Random(2027)  # the same places on every run
    merchant = Merchant.objects.create(
        legal_name="Bench Goods LLC",
        display_name="Bench Goods",
        contact_name="Bea Bench",
        contact_email="owner@bench.example",
        status=Merchant.Status.APPROVED,
        approved_at=NOW,
    )
    site_rows = Site.objects.bulk_create(
        (
            Site(
                name=f"Bench Mall {number:05d}",
                address_line1=f"{number} W Chandler Blvd",
                city="Chandler",
                state="AZ",
                postal_code="85226",
                latitude=near(CHANDLER[0], 0.2, rng),
                longitude=near(CHANDLER[1], 0.2, rng),
                timezone=TIMEZONE,
            )
            for number in range(1, sites + 1)
        ),
        batch_size=BATCH,
    )
    stores = Store.objects.bulk_create(
        (Store(merchant=merchant, site=site, name=f"Bench Store {site.name[-5:]}", unit="101") for site in site_rows),
        batch_size=BATCH,
    )
    OpeningHours.objects.bulk_create(
        (OpeningHours(store=store, weekday=day, opens=OPENS, closes=CLOSES) for store in stores for day in range(7)),
        batch_size=BATCH,
    )
    windows = windows_plan(now=NOW)

    orders = Order.objects.bulk_create(
        (order(merchant, store, number, rng) for number, store in enumerate(stores_times(stores, orders_per_site))),
        batch_size=BATCH,
    )
    Package.objects.bulk_create(
        (
            Package(order=row, sequence=1, label_code=f"{row.tracking_code}01", weight_lb=Decimal("2.50"))
            for row in orders
        ),
        batch_size=BATCH,
    )
    return [row.pk for row in orders], windows


def stores_times(stores: list[Store], count: int):
    """Each store `count` times, interleaved, so neighbouring order ids belong to different sites."""
    for _ in range(count):
        yield from stores


def order(merchant: Merchant, store: Store, number: int, rng: random.Random) -> Order:
    """A ready same-day order delivered within about two miles of its store's site."""
    site = store.site
    latitude, longitude = near(site.latitude, 0.03, rng), near(site.longitude, 0.03, rng)
    return Order(
        merchant=merchant,
        store=store,
        external_id=f"BENCH-{number:07d}",
        service_level=Order.ServiceLevel.SAME_DAY,
        status=Order.Status.READY,
        tracking_code=tracking_code(number),
        customer_name="Jamie Rivera",
        customer_phone="480-555-0199",
        customer_email="jamie@example.com",
        address_line1="100 N Arizona Ave",
        city="Chandler",
        state="AZ",
        postal_code="85225",
        latitude=latitude,
        longitude=longitude,
        distance_miles=Decimal(miles_between(site.latitude, site.longitude, latitude, longitude)).quantize(
            Decimal("0.1")
        ),
        ready_at=NOW,
    )


def near(center, spread: float, rng: random.Random) -> Decimal:
    """A coordinate within `spread` degrees of `center`, with the model's six decimals."""
    return Decimal(f"{float(center) + rng.uniform(-spread, spread):.6f}")


def tracking_code(number: int) -> str:
    """`number` in the portal's code alphabet, 12 characters like a real code: unique without retries."""
    digits = []
    for _ in range(12):
        number, digit = divmod(number, len(CODE_ALPHABET))
        digits.append(CODE_ALPHABET[digit])
    return "".join(reversed(digits))


def reset(order_ids: list[int]) -> None:
    """Back to before the assignment: the orders ready without a window, every window empty."""
    Order.objects.filter(pk__in=order_ids).update(
        status=Order.Status.READY, pickup_window=None, not_scheduled_reason=""
    )
    PickupWindow.objects.update(booked_packages=0)


def settle() -> None:
    """Vacuum and analyse the rows a run touches, so each starts on fresh statistics and no dead rows."""
    tables = ", ".join(model._meta.db_table for model in (Order, Package, PickupWindow))
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {tables}")


def verify(result: Assignment, order_ids: list[int], packages: int) -> list[str]:
    """What must hold after assigning every order; returns what does not."""
    problems = []
    if result.unscheduled or len(result.scheduled) != len(order_ids):
        problems.append(f"{len(result.scheduled)} of {len(order_ids)} orders scheduled, {len(result.unscheduled)} not")
    placed = Order.objects.filter(pk__in=order_ids, status=Order.Status.SCHEDULED, pickup_window__site=F("store__site"))
    if (placed := placed.count()) != len(order_ids):
        problems.append(f"{len(order_ids) - placed} orders not scheduled in a window at their own site")
    if over := PickupWindow.objects.filter(booked_packages__gt=F("capacity_packages")).count():
        problems.append(f"{over} windows over capacity")
    miscounted = PickupWindow.objects.annotate(held=Count("orders__packages")).exclude(booked_packages=F("held"))
    if miscounted := miscounted.count():
        problems.append(f"{miscounted} windows whose booked packages differ from the packages of their orders")
    booked = PickupWindow.objects.aggregate(total=Sum("booked_packages"))["total"]
    if booked != packages:
        problems.append(f"{booked} packages booked for {packages} packages")
    return problems


def report(numbers, code, windows, setup_seconds, queries, problems) -> None:
    sql_seconds = sum(float(query["time"]) for query in queries)
    slowest = sorted(queries, key=lambda query: float(query["time"]), reverse=True)[:3]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_setting('jit')")
        server, jit = cursor.fetchone()
    print(
        f"orders_assign: {numbers['sites']:,} sites x {numbers['orders'] // numbers['sites']:,} ready orders "
        f"= {numbers['orders']:,} orders of 1 package, {windows:,} windows planned (setup {setup_seconds:.1f} s)"
    )
    print(f"  code {code}, PostgreSQL {server} (jit {jit}), Python {sys.version.split()[0]}")
    print(f"  assignment         {numbers['seconds']:9.2f} s   {numbers['orders_per_second']:,.0f} orders/s")
    print(f"  SQL queries        {numbers['queries']:9,}     {sql_seconds:.2f} s of it waiting on execute()")
    print(f"  peak Python memory {numbers['peak_mib']:9,.1f} MiB (tracemalloc, in a run of its own)")
    print(
        f"  bulk UPDATE        {numbers['bulk_update_seconds']:9.2f} s   assignment takes {numbers['ratio']}x as long"
    )
    print("  slowest queries:")
    for query in slowest:
        print(f"    {float(query['time']):8.3f} s  {query['sql'][:100]}")
    print("  checks: " + ("FAILED: " + "; ".join(problems) if problems else "passed after both assignments"))


def revision() -> str:
    """The commit measured, "-dirty" if tracked files differ from it: the code under test changes often."""
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return git.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
