"""Benchmark of the merchant API under load: each endpoint's requests per second beside a bare view.

Creates a PostgreSQL database of its own, fills it (one merchant with 10,000 orders, in bulk), starts
gunicorn (2 workers, production settings, persistent connections) and measures each request with wrk,
alternating with a view of the same process that only runs `SELECT 1`: 3 rounds, medians. Prints the
table of issue #13 (ratio to the bare view, its goal, queries per request) and one JSON line. Every
measured request must succeed; the script checks that, cleans up (gunicorn, its database, its Redis
database) and exits 1 when a check fails. See bench/README.md.
"""

# ruff: noqa: E402 -- the app imports below need django.setup() to have run first.

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: make the project importable

SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
DATABASE = f"bench_api_{os.getpid()}"  # its own, new database: dropped at the end
# What production requires (config/settings/production.py), pointed at this machine. Texts and emails are
# never sent by the measured requests. Behind one proxy (X-Forwarded-For), as in production, so each
# tracking request can come from its own customer and stay under the per-client limit.
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.api_settings",
    "SECRET_KEY": secrets.token_urlsafe(40),
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DATABASE_URL": f"{SERVER}/{DATABASE}",
    "CACHE_URL": REDIS,
    "CELERY_BROKER_URL": REDIS,
    "EMAIL_URL": "consolemail://",
    "SMS_BACKEND": "notifications.sms.HttpSmsBackend",
    "SMS_HTTP_URL": "http://127.0.0.1:9/",
    "TRUSTED_PROXY_COUNT": "1",
    "WEBHOOK_ALLOW_PRIVATE_URLS": "false",
    "DEBUG": "false",
}
os.environ.update(SERVER_ENV)
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")

import django

django.setup()

import redis
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg import connect, sql

from bench.world import CUSTOMER, chandler_mall, merchant_approved
from common.actors import SYSTEM
from merchants.models import Merchant, OpeningHours, Store
from merchants.services import api_key_create
from pickups import services
from pickups.ledger import events_append, order_event
from pickups.models import Order, OrderEvent, Package

ORDERS = 10_000
BATCH = 2_000
# Orders kept out of the pool that POST ready works through: for counting queries and the first checks.
PROBES = 5
BARE = "/bench/bare/"
HEADERS = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front of production sets it
NEW_ORDER = {
    "service_level": "same_day",
    **CUSTOMER,
    "packages": [{"weight_lb": "2.5"}, {"weight_lb": "4", "length_in": "12", "width_in": "8", "height_in": "6"}],
}


@dataclass
class World:
    key: str
    store_id: int
    shown: Order  # the order read by detail, events and tracking: three events, two packages
    probes: list[int]  # created orders for single checks of POST ready
    pool: list[int]  # created orders POST ready works through under load


@dataclass
class Row:
    name: str
    goal: float
    max_queries: int | None = None
    runs: list[dict] = field(default_factory=list)
    bare_runs: list[dict] = field(default_factory=list)
    queries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(run["rps"] for run in self.runs)

    @property
    def bare_rate(self) -> float:
        return statistics.median(run["rps"] for run in self.bare_runs)

    @property
    def ratio(self) -> float:
        return self.rate / self.bare_rate

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal and (self.max_queries is None or self.queries <= self.max_queries)


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/api.py needs wrk, the HTTP load generator: apt-get install -y wrk")
    server = None
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        database_create()
        started = time.perf_counter()
        world = load(ORDERS)
        settle()
        print(f"loaded {ORDERS:,} orders in {time.perf_counter() - started:.1f} s; counting queries", flush=True)
        rows = rows_for(world)
        count_queries(rows, world, show=args.show_queries)
        port = free_port()
        server = gunicorn_start(port)
        for row in rows:
            probe_http(row, world, port)
        wrk(script_static(BARE, {}), port, 10, workdir)  # warm-up: both workers connected, their imports done
        for row in rows:
            measure(row, world, port, args, workdir)
        report(rows, args)
        return 1 if any(row.problems for row in rows) else 0
    finally:
        if server is not None:
            gunicorn_stop(server)
        connections.close_all()
        database_drop()
        redis.Redis.from_url(REDIS).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of each wrk run (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of target and bare view (default 3)")
    parser.add_argument("--only", default="", help="comma-separated row numbers (1-6) to measure, e.g. 1,4")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of each counted request")
    args = parser.parse_args()
    if args.duration < 1 or args.rounds < 1:
        parser.error("duration and rounds must be at least 1")
    return args


# --- the database ---------------------------------------------------------------------------------------


def database_create() -> None:
    with connect(SERVER + "/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    call_command("migrate", interactive=False, verbosity=0)


def database_drop() -> None:
    with connect(SERVER + "/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))


def settle() -> None:
    """The shared PostgreSQL runs without autovacuum: fresh statistics and no dead rows before each run."""
    tables = ", ".join(model._meta.db_table for model in (Order, Package, OrderEvent))
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {tables}")


def load(count: int) -> World:
    """One approved merchant, one store, an API key and `count` orders created over the last 30 days."""
    merchant = merchant_approved()
    site = chandler_mall("Chandler Fashion Center")
    store = Store.objects.create(merchant=merchant, site=site, name="Bench Outfitters", unit="101")
    OpeningHours.objects.bulk_create(
        OpeningHours(store=store, weekday=day, opens="10:00", closes="21:00") for day in range(7)
    )
    _, key = api_key_create(merchant=merchant, name="Bench", created_by=None)
    ids = []
    for first in range(0, count, BATCH):
        ids += orders_load(merchant, store, range(first, min(first + BATCH, count)))
    # Spread over 30 days, newest last, as a shop's orders arrive (bulk_create stamps them all "now").
    step = timedelta(days=30) / count
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pickups_order SET created_at = %s - (%s - id) * %s WHERE merchant_id = %s",
            [timezone.now(), ids[-1], step, merchant.pk],
        )
    shown = Order.objects.get(pk=ids[len(ids) // 2])
    services.order_mark_ready(order=shown, actor=SYSTEM)
    services.order_cancel(order=shown, actor=SYSTEM, reason="The customer changed their mind")
    rest = [pk for pk in ids if pk != shown.pk]
    return World(key=key, store_id=store.pk, shown=shown, probes=rest[:PROBES], pool=rest[PROBES:])


def orders_load(merchant: Merchant, store: Store, numbers: range) -> list[int]:
    orders = Order.objects.bulk_create(
        Order(
            merchant=merchant,
            store=store,
            external_id=f"LOAD-{number:06d}",
            tracking_code=services.new_tracking_code(),
            **CUSTOMER | {"address_line1": f"{100 + number % 900} N Arizona Ave"},
            latitude=Decimal("33.306700"),
            longitude=Decimal("-111.841000"),
            distance_miles=Decimal("3.3"),
        )
        for number in numbers
    )
    packages = [1 + order.pk % 3 for order in orders]  # one to three
    Package.objects.bulk_create(
        Package(order=order, sequence=n, label_code=f"{order.tracking_code}{n:02d}", weight_lb=Decimal("2.50"))
        for order, many in zip(orders, packages, strict=True)
        for n in range(1, many + 1)
    )
    now = timezone.now()
    events_append(
        [
            order_event(order, "order.created", SYSTEM, now, "", Order.Status.CREATED, {"packages": many})
            for order, many in zip(orders, packages, strict=True)
        ],
        new_orders=True,
    )
    return [order.pk for order in orders]


# --- the rows -------------------------------------------------------------------------------------------


def rows_for(world: World) -> list[Row]:
    return [
        Row("GET orders, 50 a page", 0.15),
        Row("GET order detail", 0.30),
        Row("GET order events", 0.30),
        Row("POST create order", 0.15, max_queries=8),
        Row("POST ready", 0.15, max_queries=8),
        Row("GET public tracking", 0.30),
    ]


def single_request(index: int, world: World, tag: str) -> tuple[str, str, dict | None, int]:
    """(method, path, JSON body, expected status) of one request of row `index`, for the checks."""
    shown = world.shown.pk
    if index == 0:
        return "GET", "/api/v1/orders/", None, 200
    if index == 1:
        return "GET", f"/api/v1/orders/{shown}/", None, 200
    if index == 2:
        return "GET", f"/api/v1/orders/{shown}/events/", None, 200
    if index == 3:
        return "POST", "/api/v1/orders/", NEW_ORDER | {"store": world.store_id, "external_id": f"CHECK-{tag}"}, 201
    if index == 4:
        return "POST", f"/api/v1/orders/{world.probes.pop()}/ready/", None, 200
    return "GET", f"/api/v1/track/{world.shown.tracking_code}/", None, 200


def count_queries(rows: list[Row], world: World, show: bool) -> None:
    """Queries of one request of each row, through Django's test client on the benchmark's database, in the
    steady state of a running server: after a request of the same row (its statements compiled and kept)."""
    client = Client(headers={"authorization": f"Bearer {world.key}"})
    client.get("/api/v1/stores/", secure=True)  # the key's use of this minute is noted: a steady state
    for index, row in enumerate(rows):
        for tag in ("warm", "count"):
            method, path, body, expected = single_request(index, world, tag)
            with CaptureQueriesContext(connection) as captured:
                json_body = json.dumps(body) if body else ""
                response = client.generic(method, path, json_body, "application/json", secure=True)
            if response.status_code != expected:
                row.problems.append(f"{method} {path} answered {response.status_code}, not {expected}")
        row.queries = len(captured)
        if show:
            print(f"{row.name}:\n" + "".join(f"  {query['sql'][:160]}\n" for query in captured.captured_queries))
    with CaptureQueriesContext(connection) as captured:
        client.get(BARE, secure=True)
    print(f"queries: bare view {len(captured)}, " + ", ".join(f"{row.name} {row.queries}" for row in rows))


# --- the server -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_start(port: int) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi",
        "--workers=2",
        f"--bind=127.0.0.1:{port}",
        f"--chdir={ROOT}",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, env=os.environ.copy(), start_new_session=True)
    # A worker imports the URLconf, and so every view's libraries, at its first request: a minute or more
    # on a busy two-core machine.
    deadline, error = time.monotonic() + 180, None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn stopped at start (exit {server.returncode})")
        try:
            with urllib.request.urlopen(request(port, "GET", BARE), timeout=60) as answer:
                if answer.status == 200:
                    return server
        except OSError as problem:
            error = problem
            time.sleep(0.2)
    gunicorn_stop(server)
    sys.exit(f"gunicorn did not answer within 3 minutes: {error}")


def gunicorn_stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)  # its own session: the master and its two workers
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def request(port: int, method: str, path: str, body: dict | None = None, key: str = "") -> urllib.request.Request:
    headers = HEADERS | {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    return urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)


def probe_http(row: Row, world: World, port: int) -> None:
    """One request of the row through gunicorn before the load: the status wrk cannot tell apart (a 3xx)."""
    index = [r.name for r in rows_for(world)].index(row.name)
    method, path, body, expected = single_request(index, world, "http")
    try:
        with urllib.request.urlopen(request(port, method, path, body, world.key), timeout=60) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != expected:
        row.problems.append(f"{method} {path} through gunicorn answered {status}, not {expected}")


# --- load -----------------------------------------------------------------------------------------------


def measure(row: Row, world: World, port: int, args: argparse.Namespace, workdir: Path) -> None:
    index = [r.name for r in rows_for(world)].index(row.name)
    if args.only and str(index + 1) not in args.only.split(","):
        return
    for number in range(1, args.rounds + 1):
        settle()
        before = time.time()
        script = target_script(index, world, number)
        run = wrk(script, port, args.duration, workdir)
        row.runs.append(run)
        row.problems += run_problems(run) + effect_problems(index, world, number, run, before)
        row.bare_runs.append(wrk(script_static(BARE, {}), port, args.duration, workdir))
        row.problems += run_problems(row.bare_runs[-1], "bare view: ")
        print(
            f"  {row.name}, round {number}: {run['rps']:,.0f} req/s, bare view {row.bare_runs[-1]['rps']:,.0f}",
            flush=True,
        )


def target_script(index: int, world: World, number: int) -> str:
    auth = {"Authorization": f"Bearer {world.key}"}
    shown = world.shown.pk
    if index == 0:
        return script_static("/api/v1/orders/", auth)
    if index == 1:
        return script_static(f"/api/v1/orders/{shown}/", auth)
    if index == 2:
        return script_static(f"/api/v1/orders/{shown}/events/", auth)
    if index == 3:
        body = json.dumps(NEW_ORDER | {"store": world.store_id, "external_id": "@ID@"})
        before, after = body.split("@ID@")
        return script_dynamic(
            auth | {"Content-Type": "application/json"},
            f'return wrk.format("POST", "/api/v1/orders/", headers, {lua(before)} .. "R{number}-" .. tid .. "-" '
            f".. counter .. {lua(after)})",
        )
    if index == 4:
        orders_reset(world)
        shares = ", ".join(
            f"[{thread}] = {{{', '.join(map(str, world.pool[thread::THREADS]))}}}" for thread in range(THREADS)
        )
        return script_dynamic(
            auth,
            "local mine = pool[tid]\nlocal id = mine[(counter - 1) % #mine + 1]\n"
            'return wrk.format("POST", "/api/v1/orders/" .. id .. "/ready/", headers, "")',
            preamble=f"pool = {{{shares}}}",
        )
    # A customer each: the tracking limit counts per client (TRACKING_RATE_LIMIT), as behind the proxy.
    return script_dynamic(
        {},
        'headers["X-Forwarded-For"] = "10." .. tid .. "." .. math.floor(counter / 256) % 256 .. "." .. counter % 256\n'
        f'return wrk.format("GET", "/api/v1/track/{world.shown.tracking_code}/", headers)',
    )


THREADS, CONNECTIONS = 2, 16


def script_static(path: str, headers: dict) -> str:
    lines = [f"wrk.path = {lua(path)}"]
    lines += [f"wrk.headers[{lua(name)}] = {lua(value)}" for name, value in (HEADERS | headers).items()]
    return "\n".join(lines) + "\n"


def script_dynamic(headers: dict, body: str, preamble: str = "") -> str:
    """A wrk script whose `request()` builds each request; `tid` (the thread) and `counter` (its requests so
    far) make them unique."""
    table = ", ".join(f"[{lua(name)}] = {lua(value)}" for name, value in (HEADERS | headers).items())
    return (
        f"{preamble}\nthreads = 0\ncounter = 0\nheaders = {{{table}}}\n"
        'function setup(thread)\n  thread:set("tid", threads)\n  threads = threads + 1\nend\n'
        f"function request()\n  counter = counter + 1\n{body}\nend\n"
    )


def lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for what we write here


def wrk(script: str, port: int, seconds: int, workdir: Path) -> dict:
    path = workdir / "script.lua"
    path.write_text(script)
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout=60s", "-s", str(path)]
    command.append(f"http://127.0.0.1:{port}/")
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    output = run.stdout
    if run.returncode or run.stderr.strip():
        # A script wrk cannot load leaves it requesting "/" instead, as if nothing were wrong.
        sys.exit(f"wrk failed (exit {run.returncode}): {run.stderr.strip()}\n{script[:500]}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "requests": int(re.search(r"(\d+) requests in", output)[1]),
        "non_2xx": int(match[1]) if (match := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0,
        "socket_errors": sum(map(int, match.groups()))
        if (match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output))
        else 0,
        "output": output,
    }


def run_problems(run: dict, label: str = "") -> list[str]:
    problems = []
    if run["non_2xx"]:
        problems.append(f"{label}{run['non_2xx']} of {run['requests']} answers were errors")
    if run["socket_errors"]:
        problems.append(f"{label}{run['socket_errors']} socket errors: {run['output']}")
    return problems


def effect_problems(index: int, world: World, number: int, run: dict, since: float) -> list[str]:
    """The writes happened, once each: as many rows as wrk counted answers (plus those in flight at the end)."""
    if index == 3:
        made = Order.objects.filter(external_id__startswith=f"R{number}-").count()
        what = "orders created"
    elif index == 4:
        made = Order.objects.filter(pk__in=world.pool, status=Order.Status.READY).count()
        what = "orders made ready"
    else:
        return []
    if not run["requests"] <= made <= run["requests"] + CONNECTIONS:
        return [f"round {number}: {made} {what} for {run['requests']} answers"]
    return []


def orders_reset(world: World) -> None:
    """Back to created, so each round of POST ready works through the same pool (a bench-only shortcut)."""
    Order.objects.filter(pk__in=world.pool).update(status=Order.Status.CREATED, ready_at=None)
    settle()


# --- the report -----------------------------------------------------------------------------------------


def report(rows: list[Row], args: argparse.Namespace) -> None:
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version')")
        [server] = cursor.fetchone()
    print(
        f"\nbench/api.py: {ORDERS:,} orders of one merchant; gunicorn 2 workers, production settings, "
        f"DATABASE_CONN_MAX_AGE={os.environ['DATABASE_CONN_MAX_AGE']}; wrk -t{THREADS} -c{CONNECTIONS} "
        f"-d{args.duration}s, {args.rounds} rounds alternating with the bare view, medians"
    )
    print(
        f"code {commit.stdout.decode().strip() or 'unknown'}, PostgreSQL {server}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print(f"\n| {'request':<22} | {'req/s':>7} | {'bare req/s':>10} | ratio | {'goal':<22} | met? | queries |")
    print(f"|{'-' * 24}|{'-' * 9}|{'-' * 12}|-------|{'-' * 24}|------|---------|")
    for row in rows:
        if not row.runs:
            continue
        goal = f"≥ {row.goal:.2f}" + (f", ≤ {row.max_queries} queries" if row.max_queries else "")
        print(
            f"| {row.name:<22} | {row.rate:>7,.0f} | {row.bare_rate:>10,.0f} | {row.ratio:5.2f} | {goal:<22} | "
            f"{'yes' if row.met else 'NO':<4} | {row.queries:>7} |"
        )
    problems = [f"{row.name}: {problem}" for row in rows for problem in row.problems]
    print("\nchecks: " + ("FAILED:\n  " + "\n  ".join(problems) if problems else "every measured request succeeded"))
    print(
        json.dumps(
            {
                row.name: {"rps": round(row.rate), "bare_rps": round(row.bare_rate), "ratio": round(row.ratio, 3)}
                | {"queries": row.queries, "met": row.met}
                for row in rows
                if row.runs
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
