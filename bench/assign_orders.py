"""Benchmark of `pickups.windows.orders_assign()`: ready orders put into pickup windows, at scale.

Builds N Chandler-area sites (one store each, open 10:00-20:00 every day) with a planned week of
windows and M ready same-day orders per site, each with its created and ready ledger events, all by
bulk inserts. Then, on the same rows, it times the floor, the whole job written as set-based SQL
(orders locked with SKIP LOCKED, windows chosen in SQL, one `UPDATE … FROM` for the orders, one
`INSERT … SELECT` of sealed ledger events, one `UPDATE` of the windows' bookings per batch of
sites), and `orders_assign()`, with the SQL queries of each; then `orders_assign()` once more under
tracemalloc for its peak Python memory. After each run it checks the result and that the code chose
the floor's windows. See bench/README.md.

It flushes the whole database it is pointed at, so it only runs on one whose name contains "bench".
"""

# ruff: noqa: E402 -- the app imports below need django.setup() to have run first.

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import tracemalloc
from collections import deque
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: make the project importable
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# Production-like by default: with DEBUG on, Django keeps the SQL text of every query in memory.
os.environ.setdefault("DEBUG", "false")
# Tasks the assignment queues after commit (customers' messages) go nowhere: no broker files left behind.
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import django

django.setup()

from celery import current_app
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import Count, F, Sum
from django.test.utils import CaptureQueriesContext
from psycopg import connect, sql

from bench.world import CHANDLER, CUSTOMER, MALL, merchant_approved
from common.actors import SYSTEM, Actor
from common.bulk import array_text
from common.distance import miles_between
from common.lanes import in_lanes
from merchants.models import Merchant, OpeningHours, Site, Store
from pickups.custody import chains_verify
from pickups.ledger import Entry, entries_append
from pickups.models import CODE_ALPHABET, Order, OrderEvent, Package, PickupWindow
from pickups.windows import SITES_PER_BATCH, orders_assign, windows_plan

# Monday 2027-01-04, 08:00 in Chandler (UTC-7 all year: Arizona has no DST), as in the tests.
NOW = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)
OPENS, CLOSES = time(10), time(20)
# Five two-hour windows of 60 packages between 10:00 and 20:00: more same-day orders than this stay ready.
MAX_ORDERS_PER_SITE = 5 * 60
BATCH = 5000


def main() -> int:
    args = parse_args()
    code = revision()  # now, as the code under test may be committed over while this runs
    prepare_database(flush=not args.reuse)

    started = perf_counter()
    order_ids, windows = reused(args) if args.reuse else build(args.sites, args.orders_per_site)
    setup_seconds = perf_counter() - started
    current_app.loader.import_default_modules()  # as a worker has: the first task queued would import them

    # 1-2. Rounds of the floor (the same job as set-based SQL, batch by batch like the code) and then the code,
    # each from the same starting point; the medians are compared, as this machine's speed moves by a third
    # within minutes. Capturing queries costs little (a copy of each statement's text); tracemalloc would slow
    # the Python side down severalfold, so memory gets a run of its own (3).
    floor_runs, runs, problems = [], [], []
    for round_ in range(args.rounds):
        if round_:
            reset()
        floor_seconds, floor_queries = timed(lambda: floor(NOW))
        floor_choice = chosen()
        problems += [f"floor: {problem}" for problem in verify(order_ids)]
        reset()
        seconds, queries = timed(lambda: orders_assign(now=NOW))
        problems += [f"code: {problem}" for problem in verify(order_ids)]
        if (differ := sum(floor_choice[pk] != window for pk, window in chosen().items())) and not problems:
            problems.append(f"code: {differ} orders in another window than the floor chose")
        floor_runs.append(floor_seconds)
        runs.append(seconds)
        print(f"  round {round_ + 1}: floor {floor_seconds:.2f} s, orders_assign() {seconds:.2f} s", flush=True)
    floor_seconds, seconds = median(floor_runs), median(runs)

    # 3. Peak memory; the database is left as this run assigned it.
    reset()
    tracemalloc.start()
    orders_assign(now=NOW)
    peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    problems += [f"code, under tracemalloc: {problem}" for problem in verify(order_ids)]

    numbers = {
        "sites": args.sites,
        "orders": len(order_ids),
        "seconds": round(seconds, 3),
        "orders_per_second": round(len(order_ids) / seconds, 1),
        "queries": len(queries),
        "peak_mib": round(peak_mib, 1),
        "floor_seconds": round(floor_seconds, 3),
        "floor_orders_per_second": round(len(order_ids) / floor_seconds, 1),
        "floor_queries": len(floor_queries),
        "ratio": round(seconds / floor_seconds, 2),
        "rounds": {"floor_seconds": [round(t, 3) for t in floor_runs], "seconds": [round(t, 3) for t in runs]},
    }
    report(numbers, code, windows, setup_seconds, queries, problems)
    print(json.dumps(numbers))
    return 1 if problems else 0


def timed(run) -> tuple[float, list[dict]]:
    """Wall time and SQL queries of `run()`, started on freshly vacuumed and analysed tables."""
    settle()
    with every_query() as queries:
        started = perf_counter()
        run()
        seconds = perf_counter() - started
    return seconds, queries


@contextmanager
def every_query():
    """Django's log of the SQL run inside (BEGIN, COPY and COMMIT included), on this thread's connection and on
    those the lanes open (`common.lanes`); filled when the block ends."""
    queries: list[dict] = []
    opened = []

    caller = threading.current_thread()

    def on_new(sender, connection, **kwargs) -> None:
        if threading.current_thread() is caller:  # this thread's connection, opened again: captured already
            return
        connection.force_debug_cursor = True
        connection.queries_log = deque()  # by default it keeps only the last 9,000
        opened.append(connection)

    connection.queries_log = deque()
    connection_created.connect(on_new)
    try:
        with CaptureQueriesContext(connection) as captured:
            yield queries
    finally:
        connection_created.disconnect(on_new)
    queries += captured.captured_queries
    for lane in opened:
        queries += lane.queries_log


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=1000, help="sites, one store each (default 1000)")
    parser.add_argument(
        "--orders-per-site",
        type=int,
        default=100,
        help=f"ready orders per site, 1 to {MAX_ORDERS_PER_SITE} (default 100)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure the rows an earlier run of the same size built, without building"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the floor and then the code (default 3)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("need at least one round")
    if args.sites < 1 or not 1 <= args.orders_per_site <= MAX_ORDERS_PER_SITE:
        parser.error(f"need at least one site and 1 to {MAX_ORDERS_PER_SITE} orders per site (a day's capacity)")
    return args


def prepare_database(*, flush: bool) -> None:
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
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")  # each run needs one (`settle`): refused now, not after the build, if not allowed
    if flush:
        call_command("flush", interactive=False, verbosity=0)


def reused(args: argparse.Namespace) -> tuple[list[int], int]:
    """The order ids and number of windows an earlier run built, if it was of the same size; the orders
    are put back to ready (`reset`)."""
    order_ids = list(Order.objects.order_by("pk").values_list("pk", flat=True))
    if Site.objects.count() != args.sites or len(order_ids) != args.sites * args.orders_per_site:
        sys.exit("--reuse: the database holds no earlier run of this size; run without --reuse first.")
    if OrderEvent.objects.filter(type="order.ready").count() != len(order_ids):
        sys.exit("--reuse: the orders were built without their ledgers (an older run); run without --reuse first.")
    reset()
    return order_ids, PickupWindow.objects.count()


def build(sites: int, orders_per_site: int) -> tuple[list[int], int]:
    """The merchant, sites, stores, hours, a week of windows and the ready orders; returns order ids, windows."""
    rng = random.Random(2027)  # the same places on every run
    merchant = merchant_approved(at=NOW)
    site_rows = Site.objects.bulk_create(
        (
            Site(
                name=f"Bench Mall {number:05d}",
                latitude=near(CHANDLER[0], 0.2, rng),
                longitude=near(CHANDLER[1], 0.2, rng),
                **MALL | {"address_line1": f"{number} W Chandler Blvd"},
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
    ledgers_begin(orders)
    return [row.pk for row in orders], windows


# The events (type, from, to) `ledgers_begin` gives each order, an hour before "now".
LEDGER_BEGINS = (("order.created", "", Order.Status.CREATED), ("order.ready", Order.Status.CREATED, Order.Status.READY))
BEGUN_AT = NOW - timedelta(hours=1)


def ledgers_begin(orders: list[Order]) -> None:
    """Each order's ledger as a ready order has it: created, then ready, sealed as the ledger seals them. The
    assignment then seals onto real chains, and reads their last seals from a table of realistic size."""
    actor = Actor(user=None, label="Bench Goods API")  # as through the merchant's API key
    for start in range(0, len(orders), BATCH):
        with transaction.atomic():
            for event_type, from_status, to_status in LEDGER_BEGINS:
                entries = [
                    Entry(row.pk, row.merchant_id, event_type, BEGUN_AT, actor.label, from_status, to_status, {})
                    for row in orders[start : start + BATCH]
                ]
                entries_append(entries, actor=actor)


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
        **CUSTOMER,
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


# The floor, one statement per batch of sites: lock the ready orders (SKIP LOCKED) and the windows open
# to them (in id order), choose in SQL, move the orders, append their events sealed as the ledger seals
# them (pickups.custody.canonical, spelled out in SQL), book the windows. It works out the promise and
# fit of the rows `build` makes: same-day orders ready before the cutoff, one package each (where a
# running sum of packages against a running sum of free room is exactly "the earliest window with
# room"), one store per site; the checks then hold it to the code's result.
FLOOR_SQL = """
WITH ready AS (
    SELECT o.id, o.ready_at, o.store_id, (SELECT count(*) FROM pickups_package p WHERE p.order_id = o.id) AS size
    FROM pickups_order o
    WHERE o.status = 'ready' AND o.id = ANY(%(orders)s::bigint[])
    ORDER BY o.id
    FOR UPDATE OF o SKIP LOCKED
), queued AS (
    SELECT r.id, s.site_id, r.size, sum(r.size) OVER (PARTITION BY s.site_id ORDER BY r.ready_at, r.id) AS upto
    FROM ready r JOIN merchants_store s ON s.id = r.store_id
), open_windows AS (
    SELECT w.id, w.site_id, w.local_date, w.starts_at, w.ends_at, w.capacity_packages - w.booked_packages AS free
    FROM pickups_pickupwindow w JOIN merchants_site site ON site.id = w.site_id
    WHERE w.site_id = ANY(%(sites)s) AND w.status IN ('open', 'offered') AND w.starts_at > %(after)s
        AND w.local_date <= (%(now)s AT TIME ZONE site.timezone)::date
    ORDER BY w.id
    FOR UPDATE OF w
), fitting AS (
    SELECT w.*, site.name AS site_name, site.timezone,
        sum(w.free) OVER (PARTITION BY w.site_id ORDER BY w.starts_at, w.id) AS upto
    FROM open_windows w
    JOIN merchants_site site ON site.id = w.site_id
    JOIN merchants_store s ON s.site_id = w.site_id
    JOIN merchants_openinghours h ON h.store_id = s.id AND h.weekday = extract(isodow FROM w.local_date) - 1
        AND h.opens <= (w.starts_at AT TIME ZONE site.timezone)::time
        AND (w.ends_at AT TIME ZONE site.timezone)::time <= h.closes
    WHERE w.local_date = (%(now)s AT TIME ZONE site.timezone)::date
        AND NOT EXISTS (SELECT 1 FROM merchants_closure c WHERE c.store_id = s.id AND c.date = w.local_date)
), choice AS (
    SELECT q.id AS order_id, q.size, f.id AS window_id, f.ends_at, f.site_name, f.timezone,
        to_char(f.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00' AS starts_at
    FROM queued q JOIN fitting f ON f.site_id = q.site_id AND q.upto > f.upto - f.free AND q.upto <= f.upto
), moved AS (
    UPDATE pickups_order o
    SET status = 'scheduled', updated_at = %(now)s, pickup_window_id = c.window_id, not_scheduled_reason = '',
        promised_date = (c.ends_at AT TIME ZONE c.timezone)::date, schedule_untold = true
    FROM choice c WHERE o.id = c.order_id
    RETURNING o.id
), sealed AS (
    SELECT c.*, coalesce(last.hash, '') AS prev_hash
    FROM choice c LEFT JOIN LATERAL (
        SELECT e.hash FROM pickups_orderevent e WHERE e.order_id = c.order_id ORDER BY e.id DESC LIMIT 1
    ) last ON true
), appended AS (
    INSERT INTO pickups_orderevent (order_id, type, occurred_at, actor_label, from_status, to_status, details,
        prev_hash, hash)
    SELECT order_id, 'order.scheduled', %(now)s, %(actor)s::text, 'ready', 'scheduled',
        jsonb_build_object('window', window_id, 'starts_at', starts_at, 'site', site_name), prev_hash,
        encode(sha256(convert_to(
            '{"actor_label":' || to_json(%(actor)s::text) || ',"details":{"site":' || to_json(site_name)
            || ',"starts_at":"' || starts_at || '","window":' || window_id || '},"from_status":"ready",'
            || '"latitude":null,"longitude":null,"occurred_at":"' || %(occurred_at)s || '","order":' || order_id
            || ',"prev_hash":"' || prev_hash || '","to_status":"scheduled","type":"order.scheduled"}', 'UTF8'
        )), 'hex')
    FROM sealed ORDER BY order_id
), booked AS (
    UPDATE pickups_pickupwindow w SET booked_packages = w.booked_packages + b.packages
    FROM (SELECT window_id, sum(size) AS packages FROM choice GROUP BY window_id) b
    WHERE w.id = b.window_id
)
SELECT count(*) FROM moved
"""


def floor(now: datetime) -> None:
    """The floor: FLOOR_SQL over the sites with ready orders, in the code's batches, one transaction each, run
    in the code's lanes (`common.lanes`): two connections at once."""
    by_site: dict[int, list[int]] = {}  # found once, then locked by id batch by batch, as the code does
    for site_id, pk in Order.objects.filter(status=Order.Status.READY).values_list("store__site_id", "pk"):
        by_site.setdefault(site_id, []).append(pk)
    site_ids = sorted(by_site)
    params = {
        "now": now,
        "after": now + timedelta(minutes=settings.PICKUP_LEAD_MINUTES),
        "occurred_at": now.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": SYSTEM.label,
    }

    def assign(sites: list[int]) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            # The statement's estimated cost sets PostgreSQL's JIT compiling it, which costs more than it saves.
            cursor.execute("SET LOCAL jit = off")
            orders = array_text(pk for site_id in sites for pk in by_site[site_id])  # as the code sends them
            cursor.execute(FLOOR_SQL, {**params, "sites": sites, "orders": orders})

    in_lanes(assign, [site_ids[start : start + SITES_PER_BATCH] for start in range(0, len(site_ids), SITES_PER_BATCH)])


def chosen() -> dict[int, int]:
    """{order id: its window}."""
    return dict(Order.objects.values_list("pk", "pickup_window_id"))


def reset() -> None:
    """Back to before the assignment: the orders ready without a window or their scheduled event, every
    window empty. Deleting ledger events is for this bench database only: the ledger is append-only."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pickups_orderevent WHERE type = 'order.scheduled'")
    back = {"pickup_window": None, "not_scheduled_reason": "", "promised_date": None, "schedule_untold": False}
    Order.objects.update(status=Order.Status.READY, **back)
    PickupWindow.objects.update(booked_packages=0)


def settle() -> None:
    """Vacuum and analyse the whole bench database, so each run starts on fresh statistics and no dead rows
    (autovacuum may be off, or not yet have seen the tables the build filled); then a checkpoint, so each
    starts with none under way. Without it the build's hundreds of megabytes of WAL start one that writes
    its pages out during the first timed run (the floor) and not the others."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


# Orders whose latest ledger event is not their move into the window they are in.
LEDGER_DISAGREES = """
SELECT count(*) FROM pickups_order o LEFT JOIN (
    SELECT DISTINCT ON (e.order_id) e.order_id, e.type, e.to_status, e.details
    FROM pickups_orderevent e ORDER BY e.order_id, e.id DESC
) last ON last.order_id = o.id
WHERE last.type IS DISTINCT FROM 'order.scheduled' OR last.to_status IS DISTINCT FROM o.status
    OR (last.details ->> 'window')::bigint IS DISTINCT FROM o.pickup_window_id
"""


def verify(order_ids: list[int]) -> list[str]:
    """What must hold after assigning every order (one package each); returns what does not."""
    problems = []
    placed = Order.objects.filter(status=Order.Status.SCHEDULED, pickup_window__site=F("store__site")).count()
    if placed != len(order_ids):
        problems.append(f"{len(order_ids) - placed} of {len(order_ids)} orders not scheduled at their own site")
    if untold := Order.objects.filter(status=Order.Status.SCHEDULED, schedule_untold=False).count():
        problems.append(f"{untold} scheduled orders not marked for their customers' message")
    per_order = OrderEvent.objects.filter(type="order.scheduled").values("order").annotate(n=Count("pk"))
    if twice := per_order.filter(n__gt=1).count():
        problems.append(f"{twice} orders scheduled more than once")
    if over := PickupWindow.objects.filter(booked_packages__gt=F("capacity_packages")).count():
        problems.append(f"{over} windows over capacity")
    miscounted = PickupWindow.objects.annotate(held=Count("orders__packages")).exclude(booked_packages=F("held"))
    if miscounted := miscounted.count():
        problems.append(f"{miscounted} windows whose booked packages differ from the packages of their orders")
    if (booked := PickupWindow.objects.aggregate(total=Sum("booked_packages"))["total"]) != len(order_ids):
        problems.append(f"{booked} packages booked for {len(order_ids)}")
    with connection.cursor() as cursor:
        cursor.execute(LEDGER_DISAGREES)
        if disagree := cursor.fetchone()[0]:
            problems.append(f"{disagree} orders whose last ledger event is not their move into their window")
    if broken := sum(1 for check in chains_verify(Order.objects.all(), chunk_size=5000) if check.broken):
        problems.append(f"{broken} orders whose ledger chain does not verify")
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
    print(f"  medians of {len(numbers['rounds']['seconds'])} rounds:")
    print(
        f"  floor (set-based SQL) {numbers['floor_seconds']:8.2f} s"
        f"  {numbers['floor_orders_per_second']:9,.0f} orders/s"
        f"  {numbers['floor_queries']:6,} queries"
    )
    print(
        f"  orders_assign()       {numbers['seconds']:8.2f} s  {numbers['orders_per_second']:9,.0f} orders/s"
        f"  {numbers['queries']:6,} queries ({sql_seconds:.2f} s waiting on execute(), over both lanes)"
    )
    print(f"  ratio to the floor    {numbers['ratio']:8.2f}x")
    print(f"  peak Python memory    {numbers['peak_mib']:8.1f} MiB (tracemalloc, in a run of its own)")
    print("  slowest queries of orders_assign():")
    for query in slowest:
        print(f"    {float(query['time']):8.3f} s  {query['sql'][:100]}")
    print("  checks: " + ("FAILED: " + "; ".join(problems) if problems else "passed after every run"))


def revision() -> str:
    """The commit measured, "-dirty" if tracked files differ from it: the code under test changes often."""
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return git.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
