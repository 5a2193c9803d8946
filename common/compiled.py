"""Reads and inserts of a fixed shape, compiled to SQL once per process and then only run.

For the API's small reads, building and compiling a QuerySet costs more than the database does: an order with
its store, site, window and packages is a dozen joins' worth of Python for one index lookup, about half of the
request's time. A `CompiledRead` is still written as an ORM `values()` query, so the ORM remains the one
statement of it, tenant filter included. On first use per database it is compiled with sample arguments; each
later call puts its own arguments where the samples were in the statement's parameters, runs it, and converts
the columns as the ORM would. A list argument (`pk__in=ids`) makes a statement per length of list, up to
LONGEST_LIST; a longer or empty list is read by the ORM as written.

`CompiledInstances` is such a read answered with model instances (and their related ones); `CompiledInsert`
keeps the INSERT that bulk_create ran for objects of one shape and runs it again with new objects' values.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.db import connections, transaction
from django.db.models import QuerySet
from django.db.models.expressions import DatabaseDefault
from django.db.models.sql import InsertQuery
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError

from common.bulk import compiled_loader_reads, timestamps_compiled

# The longest list argument a statement is compiled for: a page of orders' ids, say, not a whole import's.
LONGEST_LIST = 200


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    slots: tuple[tuple[int, str, int | None], ...]  # (index in params, argument name, index in a list argument)
    names: tuple[str, ...]
    compiler: SQLCompiler
    converters: dict  # the ORM's conversions of the columns that need one (JSON on SQLite, say)
    locks: bool  # SELECT … FOR UPDATE: only inside a transaction
    compiled_loader: bool  # timestamps read by psycopg's compiled loader (common.bulk.timestamps_compiled)


class CompiledRead:
    """`build(**arguments)` returns a `values()` QuerySet whose shape never depends on the arguments' values.

    Each sample must be a value no real call passes (e.g. -1 for an id, a string no code has) and must reach the
    SQL parameters unchanged, exactly once: checked when compiling, so a query that transforms one (a `LIKE`
    pattern, say) fails its first test rather than run with a sample in it. A list argument's sample is a list
    of one such value (`ids=[-1]`): the statement for n items is compiled with n values made from it."""

    def __init__(self, build: Callable[..., QuerySet], **samples):
        self.build, self.samples = build, samples
        self._lists = tuple(name for name, sample in samples.items() if isinstance(sample, list))
        self._statements: dict[tuple, _Statement] = {}

    def __call__(self, *, using: str = "default", **arguments) -> list[dict]:
        lengths = tuple(len(arguments[name]) for name in self._lists)
        if not all(0 < length <= LONGEST_LIST for length in lengths):
            return list(self.build(**arguments).using(using))
        statement = self._statements.get((using, lengths)) or self._compile(using, lengths)
        db = connections[using]
        if statement.locks and db.get_autocommit():  # as the ORM refuses it, every time
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(statement.params)
        for index, name, item in statement.slots:
            params[index] = arguments[name] if item is None else arguments[name][item]
        with db.cursor() as cursor:
            if statement.compiled_loader:
                timestamps_compiled(cursor)
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        if statement.converters:
            rows = statement.compiler.apply_converters(rows, statement.converters)
        return [dict(zip(statement.names, row, strict=True)) for row in rows]

    def _compile(self, using: str, lengths: tuple[int, ...]) -> _Statement:
        samples = self.samples | {
            name: [_nth(self.samples[name][0], item) for item in range(length)]
            for name, length in zip(self._lists, lengths, strict=True)
        }
        query = self.build(**samples).query
        compiler = query.get_compiler(using)
        sql, params = compiler.as_sql()
        slots = []
        for name, sample in samples.items():
            for item, value in enumerate(sample) if name in self._lists else [(None, sample)]:
                found = [index for index, param in enumerate(params) if type(param) is type(value) and param == value]
                if len(found) != 1:
                    raise ValueError(f"the sample {name}={value!r} is {len(found)} times in the parameters {params!r}")
                slots.append((found[0], name, item))
        names = (*query.extra_select, *query.values_select, *query.annotation_select)
        converters = compiler.get_converters([column for column, *_ in compiler.select[: compiler.col_count]])
        locks = bool(query.select_for_update)
        fast = compiled_loader_reads(connections[using])
        statement = _Statement(sql, tuple(params), tuple(slots), names, compiler, converters, locks, fast)
        self._statements[using, lengths] = statement
        return statement


def _nth(sample, item: int):
    """The item-th of distinct sample values made from one (-1, -2, ... for -1; "x#0", "x#1", ... for "x")."""
    return sample - item if isinstance(sample, int) else f"{sample}#{item}"


class CompiledInstances:
    """A `CompiledRead` of model instances: `build(**arguments)` returns a QuerySet of `model` (not `values()`);
    its rows come back as instances with the related ones along `related` ("store__site") set as
    `select_related` sets them, and its annotations as attributes."""

    def __init__(self, model, build: Callable[..., QuerySet], *, related: tuple[str, ...] = (), **samples):
        self.model, self.related = model, related

        def values(**arguments) -> QuerySet:
            queryset = build(**arguments)
            return queryset.values(*joined_columns(model, related), *queryset.query.annotations)

        self._read = CompiledRead(values, **samples)

    def __call__(self, *, using: str = "default", **arguments) -> list:
        return [joined(self.model, row, self.related) for row in self._read(using=using, **arguments)]


class CompiledInsert:
    """`model.objects.bulk_create(objs)` for a frequent insert of a few rows (an order, its packages, its event),
    without compiling the INSERT each time: building its SQL cost the API's create as much as running it.

    The first call of each shape (number of rows, which values are database defaults) runs bulk_create and
    keeps the one statement it ran. Later calls compute each value as the ORM does (`pre_save`, then
    `get_db_prep_save`), in the order of that statement's parameters (a row after another, or on PostgreSQL an
    array per column), and run it; the objects come back as bulk_create leaves them: primary key and database
    defaults set from RETURNING, saved. Anything else (objects with a primary key, other expressions, more than
    LONGEST_LIST rows, a shape whose parameters are laid out otherwise) goes through bulk_create as written.
    """

    def __init__(self, model):
        self.model = model
        self.fields = [field for field in model._meta.concrete_fields if not field.generated and not field.primary_key]
        self._statements: dict[tuple, _Insert | None] = {}

    def __call__(
        self, objs: list, *, using: str = "default", along: tuple["CompiledInsert", list] | None = None
    ) -> list:
        """Insert `objs`. `along`: another insert and its objects (a new order's packages, say), written by the
        same statement (a data-modifying WITH): a round trip less. PostgreSQL runs the two together, in no set
        order, so neither set of rows may refer to the other; those objects come back without their primary
        keys. Until both statements are kept, and on other databases, the two inserts run one after the other."""
        connection = connections[using]
        rows = self._rows(objs, connection)
        shape = _shape(rows, using) if rows else None
        statement = self._statements.get(shape)
        theirs = None
        if statement and along and connection.vendor == "postgresql":
            theirs = along[0]._kept(along[1], connection, using)
        if along and not theirs:
            along[0](along[1], using=using)
        if rows and shape not in self._statements:
            return self._compile(objs, shape, using)
        if statement is None:
            return self.model.objects.using(using).bulk_create(objs)
        sql, params = statement.sql, statement.params(self._values(rows, connection))
        if theirs:
            sql, params = f"WITH along AS ({theirs[0].sql}) {sql}", [*theirs[1], *params]
        # As bulk_create does: an error dooms the transaction, so that nothing commits after it by mistake.
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(sql, params)
            returned = cursor.fetchall()
        if statement.converters:
            returned = statement.compiler.apply_converters(returned, statement.converters)
        returning = self.model._meta.db_returning_fields
        for obj, values in zip(objs, returned, strict=True):
            for field, value in zip(returning, values, strict=True):
                setattr(obj, field.attname, value)
            obj._state.adding, obj._state.db = False, using
        return objs

    def _kept(self, objs: list, connection, using: str) -> tuple["_Insert", list] | None:
        """The statement kept for these objects and its parameters; None when there is none."""
        rows = self._rows(objs, connection)
        statement = self._statements.get(_shape(rows, using)) if rows else None
        return (statement, statement.params(self._values(rows, connection))) if statement else None

    def _rows(self, objs: list, connection) -> list[list] | None:
        """The objects' values as the ORM computes them; None when they go through bulk_create as written."""
        if not (0 < len(objs) <= LONGEST_LIST and connection.features.can_return_rows_from_bulk_insert):
            return None
        if any(obj._is_pk_set() for obj in objs):
            return None
        for obj in objs:
            obj._prepare_related_fields_for_save(operation_name="bulk_create")
        rows = [[field.pre_save(obj, True) for field in self.fields] for obj in objs]
        if any(_expression(value) and not isinstance(value, DatabaseDefault) for row in rows for value in row):
            return None
        return rows

    def _values(self, rows: list[list], connection) -> list[list]:
        """Each row's values as the database takes them, database defaults left out (the statement says DEFAULT)."""
        return [
            [
                field.get_db_prep_save(value, connection)
                for field, value in zip(self.fields, row, strict=True)
                if not isinstance(value, DatabaseDefault)
            ]
            for row in rows
        ]

    def _compile(self, objs: list, shape: tuple, using: str) -> list:
        """bulk_create these objects, keeping the statement it ran if it ran one whose parameters are this
        shape's values laid out a row after another or a column after another."""
        ran = []

        def keep(execute, sql, params, many, context):
            if sql.startswith("INSERT"):  # not the BEGIN of SQLite's own transaction, say
                ran.append((sql, params))
            return execute(sql, params, many, context)

        with connections[using].execute_wrapper(keep):
            objs = self.model.objects.using(using).bulk_create(objs)
        given = {sum(not default for default in row) for row in shape[1]}  # values per row, defaults left out
        statement = None
        if len(ran) == 1 and len(given) == 1:
            sql, params = ran[0]
            width, height = given.pop(), len(objs)
            by_column = height > 1 and len(params) == width and all(_array_of(param, height) for param in params)
            if by_column or len(params) == width * height:
                table, returning = self.model._meta.db_table, self.model._meta.db_returning_fields
                compiler = InsertQuery(self.model).get_compiler(using)
                converters = compiler.get_converters([field.get_col(table) for field in returning])
                statement = _Insert(sql, by_column, compiler, converters)
        self._statements[shape] = statement
        return objs


@dataclass(frozen=True)
class _Insert:
    sql: str
    by_column: bool  # one array per column (PostgreSQL's unnest), else one value after another, row by row
    compiler: SQLCompiler
    converters: dict  # the ORM's conversions of the RETURNING columns that need one

    def params(self, rows: list[list]) -> list:
        if self.by_column:
            return [list(column) for column in zip(*rows, strict=True)]
        return [value for row in rows for value in row]


def _shape(rows: list[list], using: str) -> tuple:
    """What a kept INSERT is kept for: the database, the number of rows and which values are database defaults."""
    return using, tuple(tuple(isinstance(value, DatabaseDefault) for value in row) for row in rows)


def _expression(value) -> bool:
    return hasattr(value, "resolve_expression")


def _array_of(param, length: int) -> bool:
    return isinstance(param, list | tuple) and len(param) == length


def columns(model, prefix: str = "") -> list[str]:
    """The names of a model's columns for `values()`: its own, or a related model's under `prefix` ("store__")."""
    return [prefix + field.attname for field in model._meta.concrete_fields]


def instance(model, row: dict, prefix: str = ""):
    """A model instance from a row holding `columns(model, prefix)`, built as the ORM builds one it has read."""
    names = columns(model)
    return model.from_db("default", names, [row[prefix + name] for name in names])


@cache
def _hops(model, related: tuple[str, ...]) -> tuple[tuple[str, str, object], ...]:
    """(prefix of the parent's columns, field name, related model) for each model along `related` paths,
    parents first: "store__site" is ("", "store", Store), then ("store__", "site", Site)."""
    hops = {}
    for path in related:
        parent, prefix = model, ""
        for name in path.split("__"):
            field = parent._meta.get_field(name)
            hops.setdefault(prefix + name, (prefix, name, field.related_model))
            parent, prefix = field.related_model, f"{prefix}{name}__"
    return tuple(hops.values())


@cache
def joined_columns(model, related: tuple[str, ...] = ()) -> tuple[str, ...]:
    """`columns` of a model and of each model along `related` paths, for `values()`."""
    return (
        *columns(model),
        *(name for prefix, field, other in _hops(model, related) for name in columns(other, f"{prefix}{field}__")),
    )


def joined(model, row: dict, related: tuple[str, ...] = ()):
    """An instance from a row of `joined_columns(model, related)` (and annotations, set as attributes), with
    its related instances set as `select_related` sets them: None where the foreign key is null."""
    names = joined_columns(model, related)
    objects = {"": instance(model, row)}
    for prefix, name, other in _hops(model, related):
        parent, own = objects[prefix], f"{prefix}{name}__"
        pk = row[own + other._meta.pk.attname]
        objects[own] = None if pk is None else instance(other, row, own)
        if parent is not None:
            parent._meta.get_field(name).set_cached_value(parent, objects[own])
    for name in row.keys() - set(names):
        setattr(objects[""], name, row[name])
    return objects[""]
