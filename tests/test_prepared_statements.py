"""On PostgreSQL a connection prepares the statements it runs often, so the server stops parsing them."""

import pytest
from django.db import connection

from merchants.services import api_key_create
from tests.config.test_settings import run
from tests.factories import StoreFactory, make_orders

PREPARED_ORDER_READS = "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%FROM \"pickups_order\"%%'"


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_order_read_often_on_a_connection_is_prepared_once(client):
    [order] = make_orders(StoreFactory())
    key = api_key_create(merchant=order.merchant, name="Checkout", created_by=None)[1]
    headers = {"authorization": f"Bearer {key}"}

    for _ in range(7):  # psycopg prepares a statement run more than five times on a connection
        response = client.get(f"/api/v1/orders/{order.pk}/", headers=headers, secure=True)
        assert response.status_code == 200
        assert response.json()["id"] == order.pk

    with connection.cursor() as cursor:
        cursor.execute(PREPARED_ORDER_READS)
        assert cursor.fetchone()[0] == 1


READ_BINDING = """
import django
django.setup()
from django.conf import settings
options = settings.DATABASES["default"].get("OPTIONS", {})
print(options.get("server_side_binding"), options.get("prepare_threshold"))
"""


@pytest.mark.parametrize(
    ("switch", "expected"),
    [({}, "True 5"), ({"DATABASE_PREPARED_STATEMENTS": "false"}, "None None")],
)
def test_prepared_statements_can_be_turned_off_for_a_pool_that_cannot_keep_them(switch, expected):
    result = run(
        READ_BINDING,
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL="postgres://portal:secret@db.example.com:5433/portal",
        **switch,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected.split()
