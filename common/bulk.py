"""Writing many rows at once, each with its own values: one statement, not one per row or per group.

`rows_update` is an `UPDATE … FROM` a set of rows. On PostgreSQL the rows travel as one array per
column (`unnest`), so the statement has a handful of parameters however many rows it sets; other
databases (SQLite in development and tests) get a `VALUES` list, split to their parameter limit.
`rows_set` gives rows picked by key the same values, and returns a column of each from the same statement.
`rows_read` reads thousands of rows of a `values_list()` query as the ORM would, only quicker.
"""

import gc
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import Model, QuerySet
from django.db.models.query import ValuesListIterable

try:
    from psycopg.types.datetime import TimestamptzLoader
except ImportError:  # psycopg 2, or no PostgreSQL driver at all
    TimestamptzLoader = None


def rows_update(model: type[Model], columns: tuple[str, ...], rows: list[tuple], **same) -> None:
    """Set `columns[1:]` of each row whose primary key is `columns[0]`, and `same` on all of them.

    `rows` hold plain, hashable values the database driver adapts (ints, strings, dates); `columns`
    and the keys of `same` are the model's column names (`pickup_window_id`, not `pickup_window`).
    """
    if not rows:
        return
    columns, values, same = _fold_alike(columns, rows, same)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    keyed = [model._meta.get_field(name) for name in columns]
    shared = [model._meta.get_field(name) for name in same]
    names = [quote(field.column) for field in keyed]
    assignments = ", ".join([f"{name} = v.{name}" for name in names[1:]] + [f"{quote(f.column)} = %s" for f in shared])
    update = f"UPDATE {table} SET {assignments} FROM {{rows}} WHERE {table}.{names[0]} = v.{names[0]}"
    constants = _prepared(shared, same.values())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            casts = [f"%s::{field.cast_db_type(connection)}[]" for field in keyed]
            arrays = [_array(column) for column in values]
            sql = update.format(rows=f"unnest({', '.join(casts)}) AS v({', '.join(names)})")
            # The keys once more, as a condition on the table: PostgreSQL can then read just those rows by its
            # index, where it planned to join the rows to the whole table once they were a twentieth of it.
            sql += f" AND {table}.{names[0]} = ANY({casts[0]})"
            cursor.execute(sql, [*constants, *arrays, arrays[0]])
            return
        rows = list(zip(*values, strict=True))
        size = (connection.features.max_query_params - len(constants)) // len(keyed)
        row = "(" + ", ".join(["%s"] * len(keyed)) + ")"
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            sql = f"WITH v({', '.join(names)}) AS (VALUES {', '.join([row] * len(chunk))}) " + update.format(rows="v")
            cursor.execute(sql, [value for values in chunk for value in _prepared(keyed, values)] + constants)


def rows_set(model: type[Model], ids: list[int], values: dict, *, returning: str) -> list[tuple]:
    """`model.objects.filter(pk__in=ids).update(**values)` on PostgreSQL, returning each row's primary key and
    `returning` (SQL of a column) in the same statement: a round trip less than an UPDATE and a read. Its text
    depends only on the names in `values` and on `returning`, so a connection that prepares the statements it
    runs often (server-side binding) prepares it; the ids go as one array. `values` are keyed by column name
    (`pickup_window_id`)."""
    quote = connection.ops.quote_name
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    fields = [model._meta.get_field(name) for name in values]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = ANY(%s::bigint[]) RETURNING {key}, {returning}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_prepared(fields, values.values()), array_text(ids)])
        return cursor.fetchall()


def rows_read(queryset: QuerySet) -> list[tuple]:
    """`list(queryset)` for a `values_list()` QuerySet of thousands of rows, quicker on PostgreSQL.

    There its timestamps are read by psycopg's compiled loader (`timestamps_compiled`). Django registers its
    own, derived from psycopg's pure-Python one (Django ticket #36960), which costs about 5 µs a value: a
    quarter of the time of reading thousands of rows with one timestamp each. Other shapes (flat, named,
    instances), databases and drivers, and naive time (no USE_TZ) are read by the ORM as written."""
    db = connections[queryset.db]
    if not (compiled_loader_reads(db) and queryset._iterable_class is ValuesListIterable):
        return list(queryset)
    compiler = queryset.query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # as the ORM answers a query that can match nothing: without asking
        return []
    width = compiler.col_count  # without the columns only ORDER BY needs (DISTINCT selects them too)
    converters = compiler.get_converters([column for column, *_ in compiler.select[:width]])
    with db.cursor() as cursor:
        timestamps_compiled(cursor)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        rows = compiler.apply_converters(rows, converters)
    return [tuple(row[:width]) for row in rows] if converters or compiler.has_extra_select else rows


def compiled_loader_reads(db) -> bool:
    """Whether `timestamps_compiled` gives this connection's cursors what Django's loader gives: aware
    datetimes in UTC. It does on PostgreSQL with psycopg 3 and USE_TZ."""
    return db.vendor == "postgresql" and TimestamptzLoader is not None and settings.USE_TZ


def timestamps_compiled(cursor) -> None:
    """Have this cursor (of a connection where `compiled_loader_reads`) read timestamps with psycopg's
    compiled loader. Registered as the pure-Python class, which psycopg swaps for its compiled one; on this
    cursor only, as Django's connections expect their own loader (it has the time zone they check)."""
    cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)


def _fold_alike(columns: tuple[str, ...], rows: list[tuple], same: dict) -> tuple[tuple, list[tuple], dict]:
    """The columns whose values differ, those values column by column, and `same` with the columns that
    hold one value in every row: those are set as constants, less to send for the same result."""
    values = list(zip(*rows, strict=True))
    alike = {name: column[0] for name, column in zip(columns[1:], values[1:], strict=True) if len(set(column)) == 1}
    kept = [index for index, name in enumerate(columns) if name not in alike]
    return tuple(columns[i] for i in kept), [values[i] for i in kept], {**alike, **same}


def _array(column: tuple) -> str | list:
    """A column as a PostgreSQL array: spelled out at once (`array_text`) when its values are ints or dates,
    else a list for the driver to adapt."""
    if all(type(value) in (int, date) for value in column):
        return array_text(column)
    return list(column)


def array_text(values: Iterable[int | date]) -> str:
    """Ints or dates as the text of a PostgreSQL array (`'{1,2,3}'`, cast in the SQL): their text needs no
    quoting, and spelling thousands of them out at once is far quicker than the driver adapting each."""
    return "{" + ",".join(map(str, values)) + "}"


def copy_text(value) -> str:
    """A value as COPY's text format spells it: None as NULL (`\\N`), a datetime in ISO 8601, a number as is, and
    a string with its backslashes and the characters that end a column or a row escaped. JSON is a string the
    caller made (which column holds JSON is the caller's to know)."""
    if value is None:
        return r"\N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    raise TypeError(f"No COPY text for {type(value).__name__}: {value!r}")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _prepared(fields, values) -> list:
    return [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]


def jit_off() -> None:
    """Inside a transaction on PostgreSQL: no JIT compiling of its statements. A statement over thousands of rows
    is estimated costly enough to be compiled (`jit_above_cost`) yet runs in milliseconds, and compiling it costs
    tens of milliseconds more than it saves (bench/assign_orders.py: 7.0-7.3 s with JIT, 6.6-6.8 s without)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


@contextmanager
def full_collections_paused():
    """No full pass of the cyclic garbage collector inside. Bulk work holds a hundred thousand objects a batch,
    which its young passes move to the oldest generation, and a full pass over them costs more than any step of
    the work: ten, 1.2 s of a 7 s run of bench/assign_orders.py. Reference counting frees those objects as
    before, and young passes still free young cycles; the rare cycle that ages inside waits for the first full
    pass after. The collector is the process's: for work that has its process to itself (a task in a worker);
    runs at once in threads of one process resume full passes when the last one ends."""
    global _pausing
    with _pause_lock:
        if not _pausing:
            _pause_saved[:] = gc.get_threshold()
            gc.set_threshold(_pause_saved[0], _pause_saved[1], NEVER)
        _pausing += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pausing -= 1
            if not _pausing:
                gc.set_threshold(*_pause_saved)


NEVER = 2**31 - 1  # the collector's thresholds are C ints
_pause_lock = threading.Lock()
_pausing = 0  # runs inside full_collections_paused now
_pause_saved: list[int] = []  # the thresholds before the first of them
