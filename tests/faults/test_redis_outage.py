"""A Redis outage while merchants flag orders ready through the API: no 500, and nothing lost.

The broker is a `redis-server` the test starts itself on a spare port (without persistence; never the machine's
shared Redis), used by a worker process (`celery -A config worker` on the test database) and by the portal, served
by pytest-django's `live_server` (a real HTTP server in a thread of the test process, whose Celery app is pointed at
that Redis). Four merchants flag their orders ready with `POST /api/v1/orders/{id}/ready/` and their API keys, one
request every 0.2 s each, before, during and after Redis is stopped for 60 s.

While Redis is down a flag's assignment task cannot be sent: the producer gives up within seconds
(`broker_connection_timeout` and `task_publish_retry_policy` in config/celery.py) and the request still answers 200,
the flag being committed (`common.tasks.enqueue_on_commit` logs the failure and leaves the order to the sweep).
Proven: every answer is a 200 with the order ready (a JSON 503 with Retry-After would be a clean failure too; none
is seen), none is a 500, none takes more than 10 s; requests were answered while Redis was down and their tasks
were lost (those orders are still ready, in no window, once Redis is back); the worker survives the outage; and
after Redis returns (empty: it kept nothing) and the sweeps beat sends every minute run, every order flagged is
scheduled within 60 s, exactly once, with no window over capacity, ledgers agreeing with statuses and custody
chains intact, while the orders never flagged are still just created.
"""

import json
import threading
import time
from datetime import time as clock
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest

from merchants.services import api_key_create
from pickups.models import Order
from pickups.windows import windows_plan
from tests.factories import SiteFactory, StoreFactory, make_orders

from .processes import RedisServer, Worker, assert_scheduled_once, publishing_to, send_sweeps, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.broker, pytest.mark.django_db(transaction=True)]

MERCHANTS, ORDERS_EACH, PACE_SECONDS = 4, 400, 0.2
BEFORE_SECONDS, OUTAGE_SECONDS, AFTER_SECONDS = 3, 60, 3


def flag_ready(base_url: str, key: str, order_id: int) -> tuple[int, dict, bytes]:
    address = urlsplit(base_url)
    client = HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        client.request("POST", f"/api/v1/orders/{order_id}/ready/", headers={"Authorization": f"Bearer {key}"})
        answer = client.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        client.close()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis.log").start()
    yield server
    server.stop()


@pytest.fixture
def worker(redis_server, tmp_path, transactional_db):
    worker = Worker(broker_url=redis_server.url, log=tmp_path / "worker.log")
    yield worker
    worker.kill()


def test_merchants_flag_orders_ready_through_a_redis_outage(live_server, redis_server, worker):
    worker.start()
    # given four merchants, each with a store at its own site (cutoff at midnight: orders go to tomorrow's windows)
    merchants = []
    for _ in range(MERCHANTS):
        store = StoreFactory(site=SiteFactory(), same_day_cutoff=clock(0), notify_customers=False)
        _, key = api_key_create(merchant=store.merchant, name="Outage test", created_by=None)
        merchants.append((key, [order.pk for order in make_orders(store, count=ORDERS_EACH)]))
    windows_plan()

    # when they flag orders ready before, during and after Redis is down
    answers, stop = [], threading.Event()

    def merchant_flags(key, order_ids):
        for order_id in order_ids:
            if stop.is_set():
                return
            started = time.monotonic()
            status, headers, body = flag_ready(live_server.url, key, order_id)
            answers.append((order_id, status, headers, body, started, time.monotonic()))
            time.sleep(PACE_SECONDS)

    threads = [threading.Thread(target=merchant_flags, args=merchant) for merchant in merchants]
    with publishing_to(redis_server.url):
        for thread in threads:
            thread.start()
        time.sleep(BEFORE_SECONDS)
        redis_server.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        redis_server.start()
        up_at = time.monotonic()
        time.sleep(AFTER_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)

        # then every request was answered cleanly, in bounded time, during the outage too
        statuses = [status for _, status, *_ in answers]
        during = [answer for answer in answers if answer[4] < up_at and answer[5] > down_at]
        slowest = max(end - start for *_, start, end in answers)
        print(
            f"{len(answers)} flags, {len(during)} while Redis was down; statuses {sorted(set(statuses))};"
            f" slowest {slowest:.2f} s"
        )
        for order_id, status, headers, body, *_ in answers:
            assert status in (200, 503), f"order {order_id}: {status} {body[:300]}"
            if status == 503:  # a clean failure: JSON, and when to retry
                assert headers.get("Retry-After") and json.loads(body)
            else:
                assert json.loads(body)["status"] == "ready"
        assert slowest < 10
        assert len(during) >= MERCHANTS * 10, "too few flags while Redis was down"
        # the tasks of the flags answered wholly within the outage were lost: those orders wait for the sweeps
        lost = [order_id for order_id, status, _, _, start, end in during if status == 200 and start > down_at]
        assert lost and set(Order.objects.filter(pk__in=lost).values_list("status", flat=True)) == {"ready"}
        assert worker.process.poll() is None, "the worker died with the outage"

        # and after Redis returns, the sweeps schedule every order flagged ready
        flagged = sorted(order_id for order_id, status, *_ in answers if status == 200)
        send_sweeps(redis_server.url)
        wait_until(
            lambda: not Order.objects.filter(status=Order.Status.READY).exists(),
            timeout=60,
            what="every flagged order is scheduled within 60 s",
        )
        print(f"all {len(flagged)} flagged orders scheduled {time.monotonic() - up_at:.1f} s after Redis returned")
    worker.stop()
    assert_scheduled_once(flagged)
    assert Order.objects.exclude(pk__in=flagged).exclude(status=Order.Status.CREATED).count() == 0
