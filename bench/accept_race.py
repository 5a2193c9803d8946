"""Benchmark of the race for a pickup: 50 drivers accept one window at the same moment, through the API.

Creates its own PostgreSQL database, fills it through the services (a merchant, a store, orders scheduled
into a window, 50 drivers with API tokens and an open offer each), serves it with gunicorn (2 workers,
production settings, persistent connections), fires the 50 accepts at once from threads behind a barrier
and prints winners, 409s, other statuses and latency. Then it checks what the winner left for after its
commit (one task for the batch) and runs it as a worker would. Drops the database at the end. See
bench/README.md.

Exits 1 unless every round has exactly one winner and every other driver got 409.
"""

# ruff: noqa: E402 -- the app imports below need django.setup() to have run first.

import argparse
import http.client
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: make the project importable

# As bench/api.py: a PostgreSQL server (the script makes and drops a database of its own on it) and an empty
# Redis database for the server's cache and broker (emptied again at the end).
SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
BENCH_DB = f"bench_accept_{os.getpid()}"
# Races before the measured ones, not counted: each gunicorn worker's first winner and losers compile and
# prepare their statements (one warm-up left the first measured race at about twice the CPU of the next).
WARM_UPS = 2
DATABASE_URL = f"{SERVER}/{BENCH_DB}"
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["CELERY_BROKER_URL"] = REDIS  # what the bench process itself queues lands there too
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("DEBUG", "false")  # with DEBUG on, Django keeps every query's SQL in memory

GOAL_P99_MS = 150
DRIVERS = 50
ORDERS_PER_WINDOW = 10  # of 2 packages each, at two stores
TASK = "deliveries.tasks.follow_up_accept"
START_SECONDS = 120  # a busy two-core machine takes most of it to import the project


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="measured races, each for a window of its own")
    parser.add_argument("--drivers", type=int, default=DRIVERS, help=f"drivers accepting at once (default {DRIVERS})")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    return parser.parse_args()


ARGS = parse_args()

import django

django.setup()

import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from psycopg import connect, sql

from bench.world import CHANDLER, CUSTOMER, chandler_mall, merchant_approved
from common.actors import SYSTEM
from deliveries.models import Driver, Offer
from deliveries.services import window_offer_wave, window_taken_follow_up
from merchants.models import Site, Store
from notifications.models import Notification
from pickups.custody import verify_chain
from pickups.intake import OrderDraft, PackageDraft
from pickups.ledger import order_move, orders_save, orders_transition
from pickups.models import Order, OrderEvent, PickupWindow
from pickups.services import orders_create


def main() -> int:
    broker = redis.Redis.from_url(REDIS)
    if broker.dbsize():
        sys.exit(f"{REDIS} is not empty: give the bench a Redis database of its own (BENCH_REDIS_URL).")
    create_database()
    server = None
    try:
        windows, tokens = build(WARM_UPS + ARGS.rounds, ARGS.drivers)
        broker.flushdb()  # what building queued (offers to drivers): nobody consumes it here
        server, port = start_server()
        load = os.getloadavg()[0]  # other work on the machine moves the figures
        results = [run_round(server, port, window, tokens, broker) for window in windows]
        warm_ups, measured = results[:WARM_UPS], results[WARM_UPS:]
        report(warm_ups, measured, load)
        return 1 if any(result.problems for result in results) else 0
    finally:
        if server is not None:
            stop_server(server)
        broker.flushdb()
        drop_database()


@dataclass
class Round:
    statuses: list[int]
    seconds: list[float]
    cpu_ms: tuple[float, float]  # CPU time the race cost gunicorn's workers and their PostgreSQL backends
    problems: list[str]
    follow_up_ms: float | None = None  # the task the winner queued, run as a worker would


def run_round(server: subprocess.Popen, port: int, window: PickupWindow, tokens: dict[int, str], broker) -> Round:
    """The race for one window, its checks, then the winner's follow-up task and its checks."""
    processes = server_processes(server)
    before = cpu_ms(processes)
    statuses, seconds = race(port, window, tokens)
    after = cpu_ms(processes)
    cpu = (after[0] - before[0], after[1] - before[1])
    result = Round(statuses, seconds, cpu, check_round(window, statuses, broker))
    if not result.problems:
        result.follow_up_ms, told = run_follow_up(window)
        result.problems += check_follow_up(window, told)
    broker.delete("celery")  # the message deliveries the follow-up queued: nobody consumes them here
    return result


def create_database() -> None:
    if connection.vendor != "postgresql":
        sys.exit(f"PostgreSQL only: set BENCH_POSTGRES_URL (now {SERVER}).")
    with admin_connection() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    call_command("migrate", interactive=False, verbosity=0)


def drop_database() -> None:
    connection.close()
    with admin_connection() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))


def admin_connection():
    db = settings.DATABASES["default"]
    server = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"], "password": db["PASSWORD"]}
    return connect(dbname="postgres", autocommit=True, **server)


# ---------------------------------------------------------------------------------------------------------
# The world: built through the services, as the portal builds it.


def build(windows: int, drivers: int) -> tuple[list[PickupWindow], dict[int, str]]:
    """A store pair at one mall, `windows` windows three hours apart (so one driver may win several)
    with their orders scheduled, `drivers` drivers a mile away, each with a token and an offer per window."""
    merchant = merchant_approved()
    site = chandler_mall("Bench Fashion Center")
    stores = [
        Store.objects.create(merchant=merchant, site=site, name=f"Bench Store {n}", unit=f"10{n}") for n in (1, 2)
    ]
    crew = make_drivers(drivers)
    tokens = {driver.pk: AuthToken.objects.create(user=driver.user)[1] for driver in crew}
    settings.OFFER_WAVE_SIZE = drivers  # everyone in the first wave: they all race
    settings.OFFER_EXPIRY_MINUTES = 60  # open for the whole run, however slow the machine
    start = timezone.now() + timedelta(minutes=90)
    made = [scheduled_window(site, stores, start + timedelta(hours=3 * n)) for n in range(windows)]
    for window in made:
        window_offer_wave(window_id=window.pk, now=timezone.now())
    return made, tokens


def make_drivers(count: int) -> list[Driver]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench.driver{n:02d}", first_name=f"Driver{n:02d}", password="!")
        for n in range(count)
    )
    return Driver.objects.bulk_create(
        Driver(
            user=user,
            phone=f"+1480555{n:04d}",
            vehicle_description="Silver sedan",
            capacity_packages=40,
            home_latitude=CHANDLER[0] + Decimal("0.014493"),  # a mile north
            home_longitude=CHANDLER[1],
            status=Driver.Status.ACTIVE,
        )
        for n, user in enumerate(users)
    )


def scheduled_window(site: Site, stores: list[Store], starts_at) -> PickupWindow:
    """A two-hour window with ORDERS_PER_WINDOW orders created, made ready and scheduled into it by the ledger."""
    local_date = timezone.localtime(starts_at, ZoneInfo(site.timezone)).date()
    window = PickupWindow.objects.create(
        site=site,
        local_date=local_date,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        capacity_packages=60,
    )
    drafts = [draft(stores[n % 2], f"{window.pk}-{n}") for n in range(ORDERS_PER_WINDOW)]
    orders, _ = orders_transition(
        orders=orders_create(merchant=stores[0].merchant, drafts=drafts, actor=SYSTEM),
        to=Order.Status.READY,
        actor=SYSTEM,
    )
    events = []
    for order in orders:
        order.pickup_window, order.promised_date = window, local_date
        events.append(order_move(order, to=Order.Status.SCHEDULED, actor=SYSTEM, at=timezone.now()))
    orders_save(orders, events)
    PickupWindow.objects.filter(pk=window.pk).update(booked_packages=2 * len(orders))
    return window


def draft(store: Store, number: str) -> OrderDraft:
    return OrderDraft(
        store_id=store.pk,
        external_id=f"BENCH-{number}",
        service_level="same_day",
        **CUSTOMER,
        latitude=CHANDLER[0] + Decimal("0.005"),
        longitude=CHANDLER[1],
        packages=[PackageDraft(weight_lb=Decimal("2.5")) for _ in range(2)],
    )


# ---------------------------------------------------------------------------------------------------------
# The server and the race.


def start_server() -> tuple[subprocess.Popen, int]:
    """gunicorn on the bench database with production settings (persistent, health-checked connections)."""
    port = free_port()
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": DATABASE_URL,
        "CACHE_URL": REDIS,
        "CELERY_BROKER_URL": REDIS,
        "EMAIL_URL": "consolemail://",
        "PORTAL_URL": "https://portal.bench.example",
        "SMS_BACKEND": "notifications.sms.HttpSmsBackend",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on the loopback; no TLS proxy in front
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        f"--workers={ARGS.workers}",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)
    deadline, answer = time.monotonic() + START_SECONDS, None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("gunicorn exited at start")
        try:
            answer = request(port, "GET", "/healthz")
        except OSError as error:
            answer = error
        if isinstance(answer, tuple) and answer[0] == 200:
            return server, port
        time.sleep(0.2)
    stop_server(server)
    sys.exit(f"gunicorn did not answer /healthz with 200 within {START_SECONDS} s: {answer}")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(port: int, method: str, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request(method, path, headers={"Content-Length": "0", **(headers or {})})
        answer = client.getresponse()
        return answer.status, answer.read()
    finally:
        client.close()


def race(port: int, window: PickupWindow, tokens: dict[int, str]) -> tuple[list[int], list[float]]:
    """Every driver with an open offer for the window accepts it at the same moment: (statuses, seconds)."""
    offers = list(Offer.objects.filter(window=window, status=Offer.Status.OPEN).values_list("pk", "driver_id"))
    barrier = threading.Barrier(len(offers))
    results: list[tuple[int, float]] = [(0, 0.0)] * len(offers)

    def accept(index: int, offer_id: int, driver_id: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[driver_id]}"}
        barrier.wait(timeout=30)
        started = time.perf_counter()
        status, _ = request(port, "POST", f"/api/v1/driver/offers/{offer_id}/accept/", headers)
        results[index] = (status, time.perf_counter() - started)

    threads = [threading.Thread(target=accept, args=(n, *offer)) for n, offer in enumerate(offers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [status for status, _ in results], [seconds for _, seconds in results]


def server_processes(server: subprocess.Popen) -> tuple[list[int], list[int]]:
    """(gunicorn's workers, the PostgreSQL backends of the bench database but this process's)."""
    workers = [
        int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit() and parent(entry) == server.pid
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return workers, [pid for (pid,) in cursor.fetchall()]


def parent(process: Path) -> int | None:
    try:
        return int((process / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def cpu_ms(processes: tuple[list[int], list[int]]) -> tuple[float, float]:
    """User + system CPU milliseconds so far of (workers, backends), from /proc (PostgreSQL on this host)."""
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")

    def used(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0  # gone (a backend closed): its CPU is not counted
        return (int(fields[11]) + int(fields[12])) * tick_ms

    return sum(map(used, processes[0])), sum(map(used, processes[1]))


# ---------------------------------------------------------------------------------------------------------
# Checks.


def check_round(window: PickupWindow, statuses: list[int], broker) -> list[str]:
    """One winner, 409 for everyone else; the window is the winner's; the transaction wrote nothing but the
    claim (the other offers still open, no ledger note yet); exactly one task queued for the batch."""
    problems = []
    if statuses.count(200) != 1 or statuses.count(409) != len(statuses) - 1:
        problems.append(f"want 1 x 200 and {len(statuses) - 1} x 409, got {sorted(statuses)}")
    window.refresh_from_db()
    accepted = Offer.objects.filter(window=window, status=Offer.Status.ACCEPTED)
    if window.status != PickupWindow.Status.ACCEPTED or [o.driver_id for o in accepted] != [window.driver_id]:
        problems.append(f"window {window.status} with driver {window.driver_id}, accepted offers {list(accepted)}")
    if OrderEvent.objects.filter(order__pickup_window=window, type="order.driver_assigned").exists():
        problems.append("ledger notes were written inside the accept")
    queued = [json.loads(message)["headers"]["task"] for message in broker.lrange("celery", 0, -1)]
    if not queued:
        # By design a broker that does not answer within 3 s does not fail the accept: the server logged a
        # warning and the offers sweep does the follow-up within a minute. Seen on a two-core machine at load 12.
        print(f"  note: {TASK} was not queued (the broker did not answer the server in time)")
    elif queued != [TASK]:
        problems.append(f"want one {TASK} queued, got {queued}")
    return problems


def run_follow_up(window: PickupWindow) -> tuple[float, int]:
    """Run the queued follow-up as a worker would: (its milliseconds, the withdrawal messages it wrote)."""
    before = Notification.objects.filter(template="offer_withdrawn").count()
    started = time.perf_counter()
    window_taken_follow_up(window_id=window.pk)
    seconds = time.perf_counter() - started
    return seconds * 1000, Notification.objects.filter(template="offer_withdrawn").count() - before


def check_follow_up(window: PickupWindow, told: int) -> list[str]:
    problems = []
    losers = Offer.objects.filter(window=window).exclude(driver_id=window.driver_id)
    if losers.exclude(status=Offer.Status.WITHDRAWN).exists():
        problems.append("offers left open after the follow-up")
    if told != 2 * losers.count():  # in the app and by text
        problems.append(f"{told} withdrawal messages for {losers.count()} drivers")
    for order in Order.objects.filter(pickup_window=window):
        events = list(order.events.order_by("id"))
        if [event.type for event in events].count("order.driver_assigned") != 1 or verify_chain(events) is not None:
            problems.append(f"order {order.external_id}: want one driver_assigned note and an intact ledger")
    return problems


# ---------------------------------------------------------------------------------------------------------
# Output.


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: with 50 requests, p99 is the slowest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latency(seconds: list[float]) -> str:
    return f"p50 {percentile(seconds, 0.5) * 1000:.1f} ms, p99 {percentile(seconds, 0.99) * 1000:.1f} ms"


def outcome(result: Round) -> str:
    others = sorted(status for status in result.statuses if status not in (200, 409))
    return (
        f"{result.statuses.count(200)} winner, {result.statuses.count(409)} x 409, other {others}; "
        f"{latency(result.seconds)}, max {max(result.seconds) * 1000:.1f} ms"
    )


def report(warm_ups: list[Round], measured: list[Round], load: float) -> None:
    print(
        f"accept race: {ARGS.drivers} drivers at once, gunicorn {ARGS.workers} workers, production settings, "
        f"PostgreSQL {server_version()}, code {revision()}"
    )
    print(f"  load average before the races: {load:.2f} on {os.cpu_count()} cores")
    for number, result in enumerate(warm_ups, 1):
        print(f"  warm-up {number}: {outcome(result)}")
    for number, result in enumerate(measured, 1):
        print(f"  round {number}: {outcome(result)}; follow-up task {result.follow_up_ms or 0:.1f} ms")
        print(f"           CPU: gunicorn {result.cpu_ms[0]:.0f} ms, PostgreSQL {result.cpu_ms[1]:.0f} ms")
    # What the race costs, whatever else runs: with nothing else on the machine, the last of the answers
    # cannot come before the server's CPU time spread over the cores (the clients' own CPU aside).
    cpu = statistics.median(sum(result.cpu_ms) for result in measured)
    print(
        f"  server CPU per race (median): {cpu:.0f} ms, {cpu / ARGS.drivers:.1f} ms a request; "
        f"spread over {os.cpu_count()} idle cores: {cpu / os.cpu_count():.0f} ms"
    )
    seconds = [value for result in measured for value in result.seconds]
    p99 = percentile(seconds, 0.99) * 1000
    print(
        f"  all rounds: {latency(seconds)} (goal p99 <= {GOAL_P99_MS} ms: {'met' if p99 <= GOAL_P99_MS else 'MISSED'})"
    )
    named = rounds_named(warm_ups, measured)
    problems = [f"{name}: {problem}" for name, result in named for problem in result.problems]
    print("  checks: " + ("FAILED: " + "; ".join(problems) if problems else "passed"))
    numbers = {
        "drivers": ARGS.drivers,
        "rounds": [
            {
                "winners": result.statuses.count(200),
                "conflicts": result.statuses.count(409),
                "p50_ms": round(percentile(result.seconds, 0.5) * 1000, 1),
                "p99_ms": round(percentile(result.seconds, 0.99) * 1000, 1),
                "follow_up_ms": result.follow_up_ms and round(result.follow_up_ms, 1),
                "cpu_ms": [round(value) for value in result.cpu_ms],
            }
            for result in measured
        ],
        "p50_ms": round(percentile(seconds, 0.5) * 1000, 1),
        "p99_ms": round(p99, 1),
        "goal_p99_ms": GOAL_P99_MS,
        "load": round(load, 2),
        "correct": not problems,
    }
    print(json.dumps(numbers))


def rounds_named(warm_ups: list[Round], measured: list[Round]):
    for number, result in enumerate(warm_ups, 1):
        yield f"warm-up {number}", result
    for number, result in enumerate(measured, 1):
        yield f"round {number}", result


def server_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def revision() -> str:
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return git.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
