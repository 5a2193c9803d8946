"""Reading many rows quickly (common.lookups.AnyOf, common.bulk.rows_read): the same rows and values as the
ORM's own way of asking, on SQLite and on PostgreSQL, where each takes its quicker path."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext

from common.bulk import rows_read
from common.lookups import AnyOf
from pickups.models import Order, Package
from tests.factories import StoreFactory, make_orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders():
    orders = make_orders(StoreFactory(), count=5)
    # Timestamps with microseconds and days apart, and one order never made ready (NULL).
    for number, order in enumerate(orders[:4]):
        order.ready_at = datetime(2027, 3, 14, 9, 26, 53, 589793, tzinfo=UTC) + timedelta(days=number, microseconds=1)
    Order.objects.bulk_update(orders, ["ready_at"])
    return orders


def test_any_of_matches_what_in_matches(orders):
    wanted = [orders[0].pk, orders[3].pk, orders[3].pk, 10**12]  # a repeat, and an id no order has

    matched = Order.objects.filter(AnyOf(F("pk"), wanted)).order_by("pk")

    assert list(matched) == list(Order.objects.filter(pk__in=wanted).order_by("pk"))
    assert [order.pk for order in matched] == [orders[0].pk, orders[3].pk]
    assert not Order.objects.filter(AnyOf(F("pk"), []), status=Order.Status.CREATED).exists()
    assert not Order.objects.filter(AnyOf(F("pk"), [None])).exists()
    assert Order.objects.filter(AnyOf(F("pk"), [])).update(notes="none") == 0


def test_any_of_reads_an_iterator_of_ids_once_for_every_use_of_the_query(orders):
    matched = Order.objects.filter(AnyOf(F("pk"), (order.pk for order in orders[:2])))

    assert matched.exists() and matched.count() == 2
    assert matched.update(notes="seen") == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array is PostgreSQL's; SQLite lists the ids")
def test_any_of_sends_the_ids_as_one_parameter(orders):
    ids = [order.pk for order in orders]

    with CaptureQueriesContext(connection) as captured:
        assert Order.objects.filter(AnyOf(F("pk"), ids)).count() == 5

    assert "= ANY(" in captured[0]["sql"] and ", ".join(map(str, ids[:2])) not in captured[0]["sql"]


def test_rows_read_returns_what_the_orm_returns(orders):
    packages = Package.objects.filter(order=OuterRef("pk")).order_by().values("order").annotate(n=Count("pk"))
    query = (
        Order.objects.annotate(size=Coalesce(Subquery(packages.values("n")), 0))
        .order_by("pk")
        .values_list("pk", "ready_at", "created_at", "latitude", "status", "quote__window_id", "size")
    )

    rows = rows_read(query)

    assert rows == list(query)
    assert [row[1] for row in rows] == [order.ready_at for order in orders[:4]] + [None]
    assert all(row[1].utcoffset() == timedelta(0) and row[2].utcoffset() == timedelta(0) for row in rows[:4])


@pytest.mark.parametrize(
    "shape",
    [
        "flat",
        "named",
        "empty",
        "distinct",  # ordered by a column it does not select: DISTINCT selects it too, the rows do not
    ],
)
def test_rows_read_returns_what_the_orm_returns_in_every_shape(orders, shape):
    query = Order.objects.filter(pk__in=[]) if shape == "empty" else Order.objects.order_by("pk")
    if shape == "distinct":
        query = query.order_by("-created_at").distinct()
    fields = ["status"] if shape == "distinct" else ["pk", "ready_at"][shape == "flat" :]
    query = query.values_list(*fields, flat=shape == "flat", named=shape == "named")

    rows, expected = rows_read(query), list(query)

    assert rows == expected and [type(row) for row in rows] == [type(row) for row in expected]


def test_copy_text_spells_values_as_copy_reads_them_and_refuses_what_it_cannot_spell():
    from datetime import UTC, datetime
    from decimal import Decimal

    from common.bulk import copy_text

    assert copy_text(None) == r"\N"
    assert copy_text("a\tb\nc\rd\\e \\N") == r"a\tb\nc\rd\\e \\N"
    assert copy_text(datetime(2027, 1, 4, 15, 0, tzinfo=UTC)) == "2027-01-04T15:00:00+00:00"
    assert (copy_text(12), copy_text(Decimal("33.301700"))) == ("12", "33.301700")
    for value in (True, b"bytes", ["a"], {"a": 1}):
        with pytest.raises(TypeError):
            copy_text(value)
