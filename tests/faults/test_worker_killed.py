"""`kill -9` of a real Celery worker in the middle of its work loses nothing and does nothing twice.

A worker process (`celery -A config worker`, solo pool, on the test database and Redis database 13 or 14, which
no other test uses) is killed with SIGKILL, its whole process group at once: no shutdown, no acknowledgement,
no rollback by the worker. A new worker starts and the test sends the sweeps beat sends every minute.

1. While it assigns 2,000 ready orders (10 sites, 200 orders each, flagged ready in batches of 50 by
   `orders_mark_ready`, each batch queueing its own assignment task, as merchants flagging orders do), killed
   inside an assignment transaction when some orders are scheduled and others not: PostgreSQL rolls the open
   transaction back with its connection, the orders it held are still ready, and the sweep
   (`assign_ready_orders`) schedules them. Within 60 s of the new worker being up (booting one takes 5-30 s,
   with the machine's load) every order is scheduled exactly once
   (one `order.scheduled` event, naming the window the order is in), no window is over capacity and each
   window's booked packages are those of its orders, every ledger replays to its order's status and every
   custody chain verifies. The killed task itself comes back after the broker's visibility timeout
   (CELERY_VISIBILITY_TIMEOUT: 300 s in production, 15 s for these workers so that the test can wait for it): the
   new worker receives it again and it changes nothing; nor does a replay of an assignment task per store and the
   sweeps.
   Customers' texts are turned off for these stores: the second test kills a worker mid-send.
2. While it texts several hundred customers (300 pending SMS in the outbox, one batch task, sent through
   `notifications.sms.HttpSmsBackend` to a real HTTP receiver in a thread that takes 20 ms per text and
   records every request), killed two thirds through the batch: the messages not yet claimed are sent by the sweep
   (`resend_stuck_notifications`) at once; the one the dead worker had claimed waits for its lease
   (NOTIFICATION_LEASE_SECONDS, 5 s for this worker, whose SMS_HTTP_TIMEOUT is 2 s: a lease must outlast any
   send) and is then sent by the next sweep. Every message ends sent, none pending or claimed; each has one
   recorded attempt. Delivery is at least once, not exactly once: the receiver got every message, at most
   twice, and only the message in flight at the kill (claimed, possibly posted, never recorded) may have
   arrived twice, with the same `Idempotency-Key` both times (the message's own), so that the provider can text
   it once. The texts are written as if two minutes ago, so the sweep's one-minute grace for the task
   sent at commit (`notifications.services.SWEEP_GRACE`) has passed, rather than waiting it out.
"""

import json
import re
import threading
import time
from datetime import time as clock
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.utils import timezone

from common.actors import SYSTEM
from config.celery import app
from notifications.models import Attempt, Notification
from pickups.models import Order
from pickups.services import orders_mark_ready
from pickups.windows import customers_tell_scheduled, windows_plan
from tests.factories import SiteFactory, StoreFactory, make_orders

from .processes import (
    Worker,
    assert_scheduled_once,
    flush,
    other_backends,
    publishing_to,
    queued,
    redis_database,
    send,
    send_sweeps,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.broker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(tmp_path):
    """Start workers on a Redis database of this test's own; whatever is left running is killed at the end,
    before the test database is flushed, and the Redis database is emptied."""
    started = []

    def start(broker_url, **env):
        worker = Worker(broker_url=broker_url, log=tmp_path / f"worker-{len(started)}.log", env=env)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.kill()
    for url in {worker.broker_url for worker in started}:
        flush(url)


SITES, ORDERS_PER_SITE, BATCH = 10, 200, 50
VISIBILITY_SECONDS = 15  # the broker hands a dead worker's task to another after this


def test_a_worker_killed_while_assigning_2000_orders(workers):
    broker = redis_database(13)
    flush(broker)
    # up while the data is made: it takes the first batches as they are flagged
    first = workers(broker, CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS))
    # given 10 sites, two stores each (cutoff at midnight: every order is for the next day's five windows), each
    # window 70 packages: 300 packages a site fill the first four and part of the fifth
    stores = []
    for _ in range(SITES):
        site = SiteFactory(window_capacity_packages=70)
        stores += [StoreFactory(site=site, same_day_cutoff=clock(0), notify_customers=False) for _ in range(2)]
    windows_plan()
    orders = []
    for store in stores:
        orders += make_orders(store, count=ORDERS_PER_SITE // 4, packages=1)
        orders += make_orders(store, count=ORDERS_PER_SITE // 4, packages=2)
    ids = [order.pk for order in orders]
    assert len(ids) == SITES * ORDERS_PER_SITE
    batches = [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]
    with publishing_to(broker):
        for batch in batches:  # each flag queues its assignment task after commit
            orders_mark_ready(orders=Order.objects.filter(pk__in=batch), actor=SYSTEM)
    assert Order.objects.filter(status__in=[Order.Status.READY, Order.Status.SCHEDULED]).count() == len(ids)

    # when the worker is killed inside an assignment transaction, with some orders scheduled and others not
    kill = _kill_mid_assignment(first, total=len(ids))
    killed_at = time.monotonic()
    print(f"killed with {kill['scheduled']} of {len(ids)} scheduled; the worker's connection then: {kill['backends']}")
    assert 0 < kill["scheduled"] < len(ids)
    assert kill["in_transaction"], f"the kill missed every assignment transaction: {kill}"
    # Its transaction ends with its backend. (Only open transactions count: a live server another test in this
    # process started may keep an idle connection to the same database.)
    wait_until(
        lambda: not [backend for backend in other_backends() if backend[2] is not None],
        timeout=30,
        what="the dead worker's transaction is gone",
    )
    print(f"its connection gone {time.monotonic() - killed_at:.1f} s after the kill")
    still_ready = Order.objects.filter(status=Order.Status.READY).count()
    assert 0 < still_ready == len(ids) - Order.objects.filter(status=Order.Status.SCHEDULED).count()

    second = workers(broker, CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS))
    print(f"a new worker up {time.monotonic() - killed_at:.1f} s after the kill (boot {second.startup_seconds:.1f} s)")
    send_sweeps(broker)

    # then every order is scheduled within a minute of the new worker being up
    up = time.monotonic()
    wait_until(
        lambda: not Order.objects.filter(status=Order.Status.READY).exists(),
        timeout=60,
        what="every order is scheduled within 60 s of a worker being back",
    )
    print(f"all {len(ids)} scheduled {time.monotonic() - up:.1f} s after the new worker was up")

    # the killed task comes back once its visibility timeout has passed, and changes nothing; nor do replays
    killed_task = _unfinished_task(first)
    wait_until(
        lambda: f"[{killed_task}] received" in second.log(),
        timeout=60,
        what=f"the killed task {killed_task} is redelivered after the visibility timeout",
    )
    print(f"the killed task redelivered {time.monotonic() - killed_at:.1f} s after the kill")
    send(broker, [("pickups.tasks.assign_stores", {"store_ids": [store.pk]}) for store in stores])
    send_sweeps(broker)
    wait_until(lambda: queued(broker, app.conf.task_default_queue) == 0, timeout=30, what="the replays are taken")
    second.stop()  # a warm shutdown finishes the task in hand
    assert_scheduled_once(ids)


def _unfinished_task(worker: Worker) -> str:
    """The id of the one task the killed worker had received and not finished (it takes one at a time)."""
    received = re.findall(r"Task [\w.]+\[([0-9a-f-]+)\] received", worker.log())
    finished = set(re.findall(r"\[([0-9a-f-]+)\] (?:succeeded|raised|retry)", worker.log()))
    unfinished = [task for task in received if task not in finished]
    assert len(unfinished) == 1, f"the killed worker left {unfinished} unfinished:\n{worker.log()[-3000:]}"
    return unfinished[0]


def _kill_mid_assignment(worker: Worker, *, total: int) -> dict:
    """SIGKILL the worker once 10-90 % of the orders are scheduled and its connection is inside a transaction of
    several statements (an assignment: lock the orders, lock the windows, write); past 90 %, kill it anyway."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        scheduled = Order.objects.filter(status=Order.Status.SCHEDULED).count()
        backends = other_backends()
        in_transaction = any(
            xact_start and (state == "idle in transaction" or state == "active") for _, state, xact_start, _ in backends
        )
        if (total * 0.1 <= scheduled and in_transaction) or scheduled >= total * 0.9:
            worker.kill()
            return {
                "scheduled": Order.objects.filter(status=Order.Status.SCHEDULED).count(),
                "in_transaction": in_transaction,
                "backends": backends,
            }
        time.sleep(0.02)
    raise AssertionError(f"the worker scheduled too little in 60 s:\n{worker.log()[-3000:]}")


class SmsReceiver:
    """An SMS provider on this machine: records every request as it arrives, answers after `delay` seconds."""

    def __init__(self, delay: float):
        self.received: list[str] = []  # the bodies of the texts, in order of arrival
        self.keys: list[str] = []  # and their idempotency keys
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                text = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert self.headers["Authorization"] == "Bearer sms-test-token"
                with receiver.lock:
                    receiver.received.append(text["body"])
                    receiver.keys.append(self.headers["Idempotency-Key"])
                time.sleep(delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"status": "queued"}')
                except OSError:  # the worker was killed while waiting for this answer
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def count(self) -> int:
        with self.lock:
            return len(self.received)


TEXTS, LEASE_SECONDS = 300, 5


def test_a_worker_killed_while_texting_customers(workers):
    broker = redis_database(14)
    flush(broker)
    with SmsReceiver(delay=0.02) as receiver:
        sms = {
            "SMS_BACKEND": "notifications.sms.HttpSmsBackend",
            "SMS_HTTP_URL": receiver.url,
            "SMS_HTTP_TOKEN": "sms-test-token",
            "SMS_HTTP_TIMEOUT": "2",
            "NOTIFICATION_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        first = workers(broker, **sms)  # up before the texts are written: it takes their batch at once
        # given 300 scheduled orders whose customers get a text: written two minutes ago, one batch task queued
        site = SiteFactory(window_capacity_packages=100)
        store = StoreFactory(site=site, same_day_cutoff=clock(0), notify_customers=False)
        windows_plan()
        orders = make_orders(store, count=TEXTS)
        orders_mark_ready(orders=orders, actor=SYSTEM)  # assigned in this process (the suite runs tasks eagerly)
        ids = list(Order.objects.filter(status=Order.Status.SCHEDULED).values_list("pk", flat=True))
        assert len(ids) == TEXTS
        store.notify_customers = True
        store.save(update_fields=["notify_customers"])
        Order.objects.filter(pk__in=ids).update(schedule_untold=True)  # as before the assignment's task ran
        with publishing_to(broker), time_machine.travel(timezone.now() - timedelta(minutes=2), tick=True):
            customers_tell_scheduled(order_ids=ids)  # as the task queued by the assignment does
        texts = {n.body: n.pk for n in Notification.objects.filter(channel=Notification.Channel.SMS)}
        assert len(texts) == TEXTS

        # when the worker is killed mid-batch
        wait_until(lambda: receiver.count() >= TEXTS * 2 // 3, timeout=60, interval=0.005, what="2/3 are sent")
        first.kill()
        at_kill = receiver.count()
        pending = Notification.objects.filter(status=Notification.Status.PENDING)
        in_flight = set(pending.filter(claimed_until__isnull=False).values_list("pk", flat=True))
        print(f"killed after {at_kill} texts received; claimed by the dead worker: {sorted(in_flight)}")
        assert at_kill < TEXTS and len(in_flight) <= 1

        # then a new worker and the sweep send the rest at once; the dead worker's claim holds until its lease ends
        second = workers(broker, **sms)
        up, swept_at = time.monotonic(), timezone.now()
        send_sweeps(broker)
        wait_until(lambda: set(pending.values_list("pk", flat=True)) <= in_flight, timeout=60, what="all else sent")
        # held back only by the dead worker's claim, still live when the sweep ran (none if it ran out before)
        claims = dict(pending.values_list("pk", "claimed_until"))
        held = set(claims)
        assert all(until > swept_at for until in claims.values()), claims
        # and once the lease has run out, the next sweep sends the message the dead worker held
        wait_until(
            lambda: not pending.filter(claimed_until__gt=timezone.now()).exists(),
            timeout=LEASE_SECONDS + 5,
            what="the dead worker's lease runs out",
        )
        send_sweeps(broker)
        wait_until(lambda: not pending.exists(), timeout=30, what="every text sent")
        finished = time.monotonic() - up
        second.stop()

    print(
        f"all {TEXTS} sent {finished:.1f} s after the new worker was up (it booted in {second.startup_seconds:.1f} s);"
        f" held by the dead worker's lease then: {sorted(held)}; the receiver got {len(receiver.received)} requests"
    )
    assert finished < LEASE_SECONDS + 60
    notifications = Notification.objects.filter(pk__in=texts.values())
    assert set(notifications.values_list("status", flat=True)) == {Notification.Status.SENT}
    assert not notifications.filter(claimed_until__isnull=False).exists()
    # one recorded, successful attempt per message
    assert Attempt.objects.filter(notification__in=notifications, succeeded=True).count() == TEXTS
    assert not Attempt.objects.filter(notification__in=notifications, succeeded=False).exists()
    # the receiver got every message at least once, and twice at most the one in flight at the kill
    counts = {body: receiver.received.count(body) for body in texts}
    assert min(counts.values()) == 1
    twice = {texts[body] for body, count in counts.items() if count > 1}
    assert max(counts.values()) <= 2 and twice <= in_flight, (twice, in_flight)
    assert len(receiver.received) == TEXTS + len(twice)
    # and a text posted twice carried its message's key both times: a provider honouring the key sends it once
    assert [f"notification-{texts[body]}" for body in receiver.received] == receiver.keys
