"""PostgreSQL connections dropped mid-request: a 503 with Retry-After to retry, never a plain 500.

Real servers on the test database and a second connection that terminates the requests' backends
(`pg_terminate_backend`), as a failover, a restart or a pool recycling them would.
"""

import json
import queue
import random
import sqlite3
import threading
import time
from http.client import HTTPConnection
from urllib.parse import urlsplit

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.db import InterfaceError, OperationalError, connection, connections

from common.unavailable import RETRY_AFTER_SECONDS, database_unavailable
from merchants.models import IdempotencyKey
from merchants.services import api_key_create
from pickups.models import Order
from tests.factories import StoreFactory


def on_postgres(test):
    """Real servers and a second connection on the test database, committed for the server to see."""
    return pytest.mark.postgres(pytest.mark.django_db(transaction=True)(test))


ORDERS = "/api/v1/orders/"


def order_body(store, external_id):
    return {
        "store": store.pk,
        "external_id": external_id,
        "service_level": "same_day",
        "customer_name": "Jamie Rivera",
        "customer_phone": "480-555-0199",
        "address_line1": "100 N Arizona Ave",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85225",
        "packages": [{"weight_lb": "2.5"}, {"weight_lb": "4"}],
    }


def send(base_url, method, path, body=None, headers=None):
    """One request on a connection of its own: (status, headers, body)."""
    address = urlsplit(base_url)
    client = HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        client.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
        answer = client.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        client.close()


def terminate_backends(*spared_pids) -> int:
    """Terminate every other backend of the test database, as a failover would; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)",
            [list(spared_pids)],
        )
        return cursor.fetchone()[0]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def api_key(store):
    return {"Authorization": f"Bearer {api_key_create(merchant=store.merchant, name='Checkout', created_by=None)[1]}"}


@pytest.fixture
def kept_connection_server(monkeypatch):
    """A one-thread server whose database connection outlives each request, as in production
    (DATABASE_CONN_MAX_AGE), without the health check: what discards a broken connection is the
    end of the request that broke it."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", False)
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(WSGIHandler())

    def serve():
        try:
            server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # this thread's kept connection, so the test database can be dropped

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def assert_unavailable_json(status, headers, body):
    assert status == 503
    assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert headers["Content-Type"] == "application/json"
    assert "send the request again" in json.loads(body)["detail"]


@on_postgres
def test_a_dropped_connection_is_a_503_to_retry_and_the_next_request_reconnects(kept_connection_server, store, api_key):
    # given: a server whose kept connection has served a request
    assert send(kept_connection_server, "POST", ORDERS, order_body(store, "WEB-1"), api_key)[0] == 201

    # when: the database drops that connection between two requests
    assert terminate_backends() >= 1  # the server's; a live server another test started may hold one too
    retry = api_key | {"Idempotency-Key": "order-WEB-2"}
    dropped = send(kept_connection_server, "POST", ORDERS, order_body(store, "WEB-2"), retry)
    again = send(kept_connection_server, "POST", ORDERS, order_body(store, "WEB-2"), retry)

    # then: the request that met the dead connection is a 503 to retry; the retry works on a new one
    assert_unavailable_json(*dropped)
    assert again[0] == 201, again[2]
    assert send(kept_connection_server, "GET", ORDERS, headers=api_key)[0] == 200
    assert Order.objects.filter(external_id="WEB-2").count() == 1


@on_postgres
def test_the_portal_shows_its_page_to_come_back_in_a_moment(kept_connection_server, client, owner):
    # given: a merchant logged in, whose page the server has served once on its kept connection
    client.force_login(owner)
    cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    assert send(kept_connection_server, "GET", "/orders/", headers=cookie)[0] == 200

    # when
    terminate_backends()
    status, headers, body = send(kept_connection_server, "GET", "/orders/", headers=cookie)

    # then
    assert status == 503 and headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert headers["Content-Type"].startswith("text/html")
    assert "back in a moment" in body.decode()
    assert send(kept_connection_server, "GET", "/orders/", headers=cookie)[0] == 200


@on_postgres
def test_creations_under_connections_dropped_at_random_end_with_one_whole_order_per_key(live_server, store, api_key):
    """While orders are created, each retried with its Idempotency-Key until created, a killer terminates
    the server's backends at random moments of half the requests: 201 or 503, never 500; one whole order
    per key."""
    answers, keys, spared = [], [], backend_pid()
    rng, kills = random.Random(12), queue.Queue()

    def killer():
        try:
            while (delay := kills.get()) is not None:
                time.sleep(delay)
                terminate_backends(spared)
        finally:
            connection.close()

    thread = threading.Thread(target=killer)
    thread.start()
    took = 0.05  # how long a request takes here, measured as they go: kills land within one
    try:
        while len(keys) < 20 or [status for status, _, _ in answers].count(503) < 5:
            assert len(keys) < 200, "the killer hit too few requests"
            keys.append(key := f"WEB-{len(keys):03d}")
            for _ in range(50):  # until created: with half the requests spared, never 50 misses in a row
                if rng.random() < 0.5:
                    kills.put(rng.uniform(0, took))
                started = time.monotonic()
                answer = send(
                    live_server.url, "POST", ORDERS, order_body(store, key), api_key | {"Idempotency-Key": key}
                )
                answers.append(answer)
                if answer[0] != 503:
                    took = time.monotonic() - started
                    break
    finally:
        kills.put(None)
        thread.join(timeout=30)

    statuses = [status for status, _, _ in answers]
    assert set(statuses) <= {201, 503}, [body for status, _, body in answers if status not in (201, 503)][:3]
    assert statuses.count(201) == len(keys)
    for answer in answers:
        if answer[0] == 503:
            assert_unavailable_json(*answer)
    # one order per key, none half-written: every order has its packages, its first ledger event and its key
    orders = Order.objects.filter(merchant=store.merchant)
    assert sorted(orders.values_list("external_id", flat=True)) == keys
    assert not orders.filter(packages__isnull=True).exists()
    assert not orders.exclude(events__type="order.created").exists()
    assert IdempotencyKey.objects.filter(merchant=store.merchant, status_code=201).count() == len(keys)


def test_only_errors_of_the_connection_count_as_unavailable():
    """A missing table or a deadlock is a bug to see (500); a lost or refused connection, or SQLite's
    file lock held past the timeout, passes."""

    def django_error(cause):
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error

    lost = psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")
    assert database_unavailable(django_error(lost))
    assert database_unavailable(django_error(psycopg.errors.AdminShutdown("terminating connection")))
    assert database_unavailable(django_error(psycopg.errors.TooManyConnections("too many clients")))
    assert not database_unavailable(django_error(psycopg.errors.DeadlockDetected("deadlock detected")))
    assert not database_unavailable(django_error(psycopg.errors.QueryCanceled("statement timeout")))
    assert database_unavailable(django_error(sqlite3.OperationalError("database is locked")))
    assert not database_unavailable(django_error(sqlite3.OperationalError("no such table: pickups_order")))
    assert database_unavailable(InterfaceError("connection already closed"))
    assert not database_unavailable(ValueError("not a database error"))
