"""common.compiled: a read compiled once answers what the ORM answers, in one query, on this run's database."""

from datetime import UTC
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Value
from django.db.models.expressions import DatabaseDefault
from django.db.models.functions import Upper
from django.db.transaction import TransactionManagementError

from common.compiled import LONGEST_LIST, CompiledInsert, CompiledInstances, CompiledRead, columns, instance
from merchants.models import Store
from pickups.models import Order, OrderEvent, Package
from tests.factories import StoreFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db


def orders_of(merchant_id, status):
    return (
        Order.objects.filter(merchant_id=merchant_id, status=status)
        .order_by("id")
        .values("id", "latitude", "created_at", "store__name", "packages__weight_lb")
    )


def test_a_compiled_read_answers_as_the_orm_does_for_any_arguments(django_assert_num_queries):
    read = CompiledRead(orders_of, merchant_id=-1, status="sample status")
    stores = [StoreFactory(), StoreFactory()]
    for store in stores:
        make_orders(store, count=2, packages=2)

    for store in stores:  # compiled on the first call, reused for the second merchant
        with django_assert_num_queries(1):
            rows = read(merchant_id=store.merchant_id, status="created")
        assert rows == list(orders_of(store.merchant_id, "created"))  # decimals and aware datetimes converted
        assert {row["created_at"].tzinfo for row in rows} == {UTC}  # in UTC, as the ORM's
        assert len(rows) == 4 and {row["store__name"] for row in rows} == {store.name}
    assert read(merchant_id=stores[0].merchant_id, status="ready") == []


def test_a_sample_the_orm_changes_is_refused_when_compiled():
    read = CompiledRead(lambda name: Order.objects.filter(customer_name__icontains=name).values("id"), name="x")

    with pytest.raises(ValueError, match="is 0 times in the parameters"):
        read(name="Jamie")


def test_json_columns_and_related_instances_come_back_as_the_orm_builds_them():
    [order] = make_orders(StoreFactory())
    read = CompiledRead(
        lambda pk: OrderEvent.objects.filter(order_id=pk).values(
            *columns(OrderEvent), *columns(Store, "order__store__")
        ),
        pk=-1,
    )

    [row] = read(pk=order.pk)
    event, store = instance(OrderEvent, row), instance(Store, row, prefix="order__store__")

    expected = OrderEvent.objects.get(order=order)
    assert (event.pk, event.type, event.details, event.occurred_at) == (
        expected.pk,
        expected.type,
        expected.details,
        expected.occurred_at,
    )
    assert store == order.store and store.name == order.store.name and not store._state.adding


def orders_numbered(merchant_id, numbers):
    return Order.objects.filter(merchant_id=merchant_id, external_id__in=numbers).order_by("id").values("id")


def test_a_list_argument_is_compiled_once_per_length(django_assert_num_queries):
    read = CompiledRead(orders_numbered, merchant_id=-1, numbers=["sample number"])
    store = StoreFactory()
    orders = make_orders(store, count=4)
    numbers = [order.external_id for order in orders]

    for chosen in (numbers[:1], numbers[1:3], numbers[2:4], numbers):  # the second of length 2 reuses the first
        with django_assert_num_queries(1):
            rows = read(merchant_id=store.merchant_id, numbers=chosen)
        assert rows == list(orders_numbered(store.merchant_id, chosen)) and len(rows) == len(chosen)
    assert sorted(lengths for _, lengths in read._statements) == [(1,), (2,), (4,)]


def test_an_empty_or_long_list_is_read_by_the_orm_as_written(django_assert_num_queries):
    read = CompiledRead(lambda ids: Order.objects.filter(pk__in=ids).values("id"), ids=[-1])
    [order] = make_orders(StoreFactory())

    with django_assert_num_queries(0):  # the ORM knows an empty IN matches nothing
        assert read(ids=[]) == []
    assert read(ids=[order.pk, *range(-LONGEST_LIST, 0)]) == [{"id": order.pk}]
    assert read._statements == {}


def orders_with_counts(merchant_id):
    return Order.objects.filter(merchant_id=merchant_id).annotate(ledger_length=Count("events")).order_by("id")


def test_compiled_instances_come_with_their_related_ones_and_annotations_as_select_related_loads_them(
    django_assert_num_queries,
):
    store = StoreFactory()
    scheduled, alone = make_orders(store, count=2)
    Order.objects.filter(pk=scheduled.pk).update(pickup_window=WindowFactory(site=store.site))
    read = CompiledInstances(Order, orders_with_counts, related=("store__site", "pickup_window"), merchant_id=-1)
    expected = list(orders_with_counts(store.merchant_id).select_related("store__site", "pickup_window"))

    with django_assert_num_queries(1):
        orders = read(merchant_id=store.merchant_id)
        shown = [(order.store.site.timezone, order.pickup_window and order.pickup_window.starts_at) for order in orders]

    assert orders == expected and not any(order._state.adding for order in orders)
    assert [order.ledger_length for order in orders] == [order.ledger_length for order in expected] == [1, 1]
    assert shown == [(store.site.timezone, expected[0].pickup_window.starts_at), (store.site.timezone, None)]
    assert [(order.store_id, order.store.name) for order in orders] == [(store.pk, store.name)] * 2
    assert orders[1].pk == alone.pk and orders[1].pickup_window_id is None


def columns_of(objs) -> list[dict]:
    """Every column of each object, as read back from the database."""
    model = type(objs[0])
    return list(model.objects.filter(pk__in=[obj.pk for obj in objs]).order_by("pk").values(*columns(model)))


@pytest.mark.parametrize("count", [1, 3])
def test_a_compiled_insert_writes_and_returns_what_bulk_create_does(count, django_assert_num_queries):
    store = StoreFactory()
    insert = CompiledInsert(Order)

    def new_orders(prefix):
        return [
            Order(
                merchant=store.merchant,
                store=store,
                external_id=f"{prefix}-{n}",
                tracking_code=f"{prefix}{n:08d}",
                customer_name="Jamie",
                address_line1="1 Main St",
                city="Chandler",
                state="AZ",
                postal_code="85225",
                latitude=Decimal("33.306700"),
                longitude=Decimal("-111.841000"),
                distance_miles=Decimal("3.3"),
                notes={1: "first", 2: "second"}.get(n, ""),
            )
            for n in range(count)
        ]

    insert(new_orders("FIRST"))  # the ORM's bulk_create, its statement kept
    compiled, by_orm = new_orders("LATER"), Order.objects.bulk_create(new_orders("ORM"))
    with django_assert_num_queries(1):
        assert insert(compiled) is compiled

    assert all(order.pk and not order._state.adding and order._state.db == "default" for order in compiled)
    assert [order.schedule_untold for order in compiled] == [False] * count  # a database default, returned
    written, expected = columns_of(compiled), columns_of(by_orm)
    assert [row["id"] for row in written] == [order.pk for order in compiled]
    assert [row["created_at"] for row in written] == [order.created_at for order in compiled]
    different = {"id", "external_id", "tracking_code", "created_at", "updated_at"}
    assert [{k: v for k, v in row.items() if k not in different} for row in written] == [
        {k: v for k, v in row.items() if k not in different} for row in expected
    ]
    assert [row["external_id"] for row in written] == [f"LATER-{n}" for n in range(count)]
    assert [(shape[0], statement is not None) for shape, statement in insert._statements.items()] == [("default", True)]


def test_a_compiled_insert_writes_json_decimals_and_related_ids_as_the_orm_does(django_assert_num_queries):
    [order] = make_orders(StoreFactory())
    insert = CompiledInsert(OrderEvent)
    details = {"reason": "Café “closed”", "lines": [1, 2.5, None], "nested": {"ok": True}}

    def events(kind):
        return [
            OrderEvent(
                order=order,
                type=kind,
                occurred_at=order.created_at,
                actor_label="Jamie",
                from_status="created",
                to_status="created",
                latitude=Decimal("33.306700"),
                longitude=Decimal("-111.841000"),
                details=details,
                prev_hash=kind,
                hash=kind * 2,
            )
            for kind in (f"{kind}.a", f"{kind}.b")
        ]

    insert(events("first"))
    with django_assert_num_queries(1):
        compiled = insert(events("later"))

    read = list(OrderEvent.objects.filter(pk__in=[event.pk for event in compiled]).order_by("pk"))
    assert [(e.order_id, e.type, e.details, e.latitude, e.longitude, e.hash) for e in read] == [
        (order.pk, e.type, details, Decimal("33.306700"), Decimal("-111.841000"), e.hash) for e in compiled
    ]


def test_objects_with_a_primary_key_or_an_expression_go_through_bulk_create_as_written():
    [order] = make_orders(StoreFactory())
    insert = CompiledInsert(Package)

    given_pk = insert([Package(pk=10_000, order=order, sequence=7, label_code="GIVEN07", weight_lb=Decimal("1"))])
    computed = insert([Package(order=order, sequence=8, label_code=Upper(Value("computed08")), weight_lb=Decimal("1"))])

    assert given_pk[0].pk == 10_000 and computed[0].pk
    assert Package.objects.get(pk=computed[0].pk).label_code == "COMPUTED08"
    assert insert._statements == {}


@pytest.mark.django_db(transaction=True)
def test_a_compiled_locked_read_refuses_to_run_outside_a_transaction_every_time():
    [order] = make_orders(StoreFactory())
    read = CompiledRead(lambda pk: Order.objects.filter(pk=pk).select_for_update(of=("self",)).values("id"), pk=-1)
    with transaction.atomic():
        assert read(pk=order.pk) == [{"id": order.pk}]  # compiled here, inside one

    for _ in range(2):
        with pytest.raises(TransactionManagementError):
            read(pk=order.pk)


def test_a_database_default_comes_back_from_the_database():
    store = StoreFactory()
    [template] = make_orders(store)
    insert = CompiledInsert(Order)
    untold = Order._meta.get_field("schedule_untold")

    def new_order(number):
        order = Order(**{name: getattr(template, name) for name in columns(Order) if name != "id"})
        order.external_id, order.tracking_code = f"DEFAULT-{number}", f"DEFAULT{number:05d}"
        order.schedule_untold = DatabaseDefault(Value(untold.db_default), output_field=untold)
        return order

    for number in range(2):  # the first compiles (where the database can say DEFAULT), the second runs
        [order] = insert([new_order(number)])
        assert order.schedule_untold is False and Order.objects.get(pk=order.pk).schedule_untold is False


def test_an_insert_along_another_writes_both_by_one_statement_on_postgresql(django_assert_num_queries):
    [order] = make_orders(StoreFactory(), packages=1)
    packages, events = CompiledInsert(Package), CompiledInsert(OrderEvent)

    def both(kind, sequence):
        package = Package(order=order, sequence=sequence, label_code=f"{kind}{sequence:02d}", weight_lb=Decimal("1"))
        event = OrderEvent(
            order=order,
            type=f"{kind}.note",
            occurred_at=order.created_at,
            actor_label="Jamie",
            from_status="created",
            to_status="created",
            details={},
            prev_hash=kind,
            hash=kind * 2,
        )
        return package, event

    package, event = both("first", 2)
    events([event], along=(packages, [package]))  # each compiles its statement, one after the other
    assert package.pk and event.pk

    package, event = both("later", 3)
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        [written] = events([event], along=(packages, [package]))

    assert written.pk and OrderEvent.objects.get(pk=written.pk).type == "later.note"
    assert order.packages.get(sequence=3).label_code == "later03"
    assert connection.vendor != "postgresql" or package.pk is None  # written by the events' statement: no id back


def test_an_insert_along_another_fails_as_a_whole(django_assert_num_queries):
    [order] = make_orders(StoreFactory(), packages=1)
    packages, events = CompiledInsert(Package), CompiledInsert(OrderEvent)
    event = dict(order=order, occurred_at=order.created_at, actor_label="J", from_status="", to_status="", details={})
    events([OrderEvent(type="a", prev_hash="a", hash="aa", **event)], along=(packages, []))  # compiled
    packages([Package(order=order, sequence=2, label_code="X02", weight_lb=Decimal("1"))])  # compiled

    with pytest.raises(IntegrityError), transaction.atomic():
        taken = Package(order=order, sequence=3, label_code="X02", weight_lb=Decimal("1"))  # the label is taken
        events([OrderEvent(type="b", prev_hash="b", hash="bb", **event)], along=(packages, [taken]))

    assert not OrderEvent.objects.filter(type="b").exists() and not order.packages.filter(sequence=3).exists()


def test_an_insert_that_fails_dooms_its_transaction_as_bulk_create_does():
    [order] = make_orders(StoreFactory(), packages=1)
    insert = CompiledInsert(Package)
    insert([Package(order=order, sequence=2, label_code="FIRST02", weight_lb=Decimal("1"))])  # compiled

    with pytest.raises(TransactionManagementError), transaction.atomic():
        with pytest.raises(IntegrityError):
            insert([Package(order=order, sequence=3, label_code="FIRST02", weight_lb=Decimal("1"))])
        Package.objects.count()  # refused: the transaction must roll back
