"""Real processes for the fault tests, and the checks every fault must leave true.

- `Worker`: `celery -A config worker` as a process group of its own, on the test database and a Redis database
  (or server) that no other test uses, so it never takes another test's tasks and no other worker takes its own.
- `RedisServer`: a `redis-server` of the test's own on a spare port, which the test may stop and start again.
- `publishing_to`: the test process's Celery app sends for real (not eagerly, as the suite does) to that broker,
  so services called in the test, and servers in its threads, queue their tasks for the worker.
- `assert_scheduled_once`: every order in one window, once, windows within capacity, ledger and status agreeing,
  custody chains intact.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count

from pickups.custody import chains_verify
from pickups.ledger import ORDER_TRANSITIONS
from pickups.models import Order, OrderEvent, Package, PickupWindow

BASE_DIR = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database (not the one DATABASE_URL names: pytest-django made `test_<name>`) as a URL."""
    db = connection.settings_dict
    login = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def redis_database(number: int) -> str:
    """A database of the suite's Redis (CELERY_BROKER_URL's server) other than the one the suite's workers use."""
    address = urlsplit(settings.CELERY_BROKER_URL)
    return f"redis://{address.netloc}/{number}"


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.05, what: str = ""):
    """Poll until predicate() is truthy and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout:.0f} s: {what or predicate.__doc__ or predicate}")
        time.sleep(interval)


class Worker:
    """A Celery worker process (solo pool: the process that runs the task is the one killed), logging to a file.

    It runs the settings a server runs (`config.settings.base`, read from the environment, plus what the test
    sets in `env`), consumes its own default queue and the test process's one, and is started in a new session
    so that a kill reaches the whole process group, as `kill -9` of a container or a unit would.
    """

    def __init__(self, *, broker_url: str, log: Path, env: dict | None = None):
        from config.celery import app

        self.broker_url, self.log_path = broker_url, log
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            **(env or {}),
        }
        self.queues = ",".join(sorted({"celery", app.conf.task_default_queue}))
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 60) -> "Worker":
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"),
                    *(f"--queues={self.queues}", f"--hostname=faults-{os.getpid()}-{time.time_ns()}@%h"),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                ],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            return " ready." in self.log()[offset:]

        wait_until(ready, timeout=timeout, interval=0.1, what="the worker is ready")
        self.startup_seconds = time.monotonic() - started
        return self

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown, no acknowledgement, no rollback by the worker."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, *, timeout: float = 30) -> None:
        """A warm shutdown (SIGTERM): the task in hand is finished and acknowledged."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class RedisServer:
    """`redis-server` on a spare port, without persistence, started and stopped by the test alone."""

    def __init__(self, log: Path):
        self.port, self.log_path, self.process = spare_port(), log, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def answers():
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, timeout=10, what=f"redis-server answers on port {self.port}")
        client.close()
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis shuts down at once (nothing to save)
            self.process.wait(timeout=10)


def flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def queued(url: str, queue: str) -> int:
    """Messages waiting in a queue of the Redis transport (not those a worker holds unacknowledged)."""
    client = redis.Redis.from_url(url)
    try:
        return client.llen(queue)
    finally:
        client.close()


def _drop_pools(app) -> None:
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def publishing_to(broker_url: str):
    """The test process's Celery app sends tasks to `broker_url` for real instead of running them eagerly."""
    from config.celery import app

    saved = app.conf.get("broker_write_url"), app.conf.task_always_eager
    # broker_write_url, not broker_url: the CELERY_BROKER_URL variable (CI sets it) would win over broker_url
    app.conf.update(broker_write_url=broker_url, task_always_eager=False)
    _drop_pools(app)
    assert app.connection_for_write().as_uri(include_password=True) == broker_url, "tasks would go elsewhere"
    try:
        yield app
    finally:
        app.conf.update(broker_write_url=saved[0], task_always_eager=saved[1])
        _drop_pools(app)


def every_minute_sweeps() -> list[str]:
    """The tasks beat sends every minute (config/celery.py): the sweeps that finish a killed worker's work."""
    from config.celery import app

    return sorted(
        entry["task"] for entry in app.conf.beat_schedule.values() if entry["schedule"].minute == set(range(60))
    )


def send(broker_url: str, tasks: list[tuple[str, dict]]) -> None:
    """Send tasks by name, as beat does, over a connection to `broker_url` only."""
    with publishing_to(broker_url) as app, app.connection_for_write(broker_url) as broker:
        for name, kwargs in tasks:
            app.send_task(name, kwargs=kwargs, connection=broker)


def send_sweeps(broker_url: str) -> None:
    send(broker_url, [(name, {}) for name in every_minute_sweeps()])


def other_backends() -> list[tuple]:
    """Connections to the test database other than this one: (pid, state, in a transaction since, query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, xact_start, left(query, 120) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchall()


def assert_scheduled_once(order_ids: list[int]) -> None:
    """Every order scheduled exactly once into one window, no window over capacity and each window's booked
    packages those of its orders, every order's ledger replaying to its status, every custody chain intact."""
    orders = {order.pk: order for order in Order.objects.filter(pk__in=order_ids)}
    assert len(orders) == len(order_ids)
    not_scheduled = {pk: order.status for pk, order in orders.items() if order.status != Order.Status.SCHEDULED}
    assert not not_scheduled, f"{len(not_scheduled)} orders not scheduled: {dict(list(not_scheduled.items())[:5])}"

    # one order.scheduled event per order, naming the window the order is in
    events = defaultdict(list)
    for event in OrderEvent.objects.filter(order_id__in=order_ids).order_by("order_id", "pk"):
        events[event.order_id].append(event)
    for pk, order in orders.items():
        scheduled = [event for event in events[pk] if event.type == "order.scheduled"]
        assert len(scheduled) == 1, f"order {pk} has {len(scheduled)} order.scheduled events"
        assert scheduled[0].details["window"] == order.pickup_window_id, f"order {pk}: ledger and window disagree"
        # the ledger replays to the status, one allowed move after another
        status = ""
        for event in events[pk]:
            assert event.from_status == status, f"order {pk}: event {event.pk} moves from {event.from_status}"
            assert not status or event.to_status in ORDER_TRANSITIONS[status] or event.to_status == status
            status = event.to_status
        assert status == order.status, f"order {pk}: the ledger says {status}, the order {order.status}"

    # windows: within capacity, and booked exactly the packages of the orders in them
    windows = PickupWindow.objects.filter(pk__in={order.pickup_window_id for order in orders.values()})
    packages = Counter(
        dict(
            Package.objects.filter(order__pickup_window__in=windows, order__status=Order.Status.SCHEDULED)
            .values_list("order__pickup_window")
            .annotate(count=Count("pk"))
        )
    )
    for window in windows:
        assert window.booked_packages <= window.capacity_packages, f"window {window.pk} is over capacity"
        assert window.booked_packages == packages[window.pk], f"window {window.pk}: booked != its orders' packages"

    broken = [str(check) for check in chains_verify(Order.objects.filter(pk__in=order_ids)) if check.broken]
    assert not broken, broken[:5]
