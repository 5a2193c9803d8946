"""Reads of a fixed shape, compiled to SQL once per process and then only run.

For the API's small reads, building and compiling a QuerySet costs more than the database does: an order with
its store, site, window and packages is a dozen joins' worth of Python for one index lookup, about half of the
request's time. A `CompiledRead` is still written as an ORM `values()` query, so the ORM remains the one
statement of it, tenant filter included. On first use per database it is compiled with sample arguments; each
later call puts its own arguments where the samples were in the statement's parameters, runs it, and converts
the columns as the ORM would.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    slots: tuple[tuple[int, str], ...]  # (index in params, argument name)
    names: tuple[str, ...]
    compiler: SQLCompiler
    converters: dict  # the ORM's conversions of the columns that need one (JSON on SQLite, say)


class CompiledRead:
    """`build(**arguments)` returns a `values()` QuerySet whose shape never depends on the arguments' values.

    Each sample must be a value no real call passes (e.g. -1 for an id, a string no code has) and must reach the
    SQL parameters unchanged, exactly once: checked when compiling, so a query that transforms one (a `LIKE`
    pattern, say) fails its first test rather than run with a sample in it."""

    def __init__(self, build: Callable[..., QuerySet], **samples):
        self.build, self.samples = build, samples
        self._statements: dict[str, _Statement] = {}

    def __call__(self, *, using: str = "default", **arguments) -> list[dict]:
        statement = self._statements.get(using) or self._compile(using)
        params = list(statement.params)
        for index, name in statement.slots:
            params[index] = arguments[name]
        with connections[using].cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        if statement.converters:
            rows = statement.compiler.apply_converters(rows, statement.converters)
        return [dict(zip(statement.names, row, strict=True)) for row in rows]

    def _compile(self, using: str) -> _Statement:
        queryset = self.build(**self.samples)
        query = queryset.query
        compiler = query.get_compiler(using)
        sql, params = compiler.as_sql()
        slots = []
        for name, sample in self.samples.items():
            found = [index for index, param in enumerate(params) if type(param) is type(sample) and param == sample]
            if len(found) != 1:
                raise ValueError(f"the sample {name}={sample!r} is {len(found)} times in the parameters {params!r}")
            slots.append((found[0], name))
        names = (*query.extra_select, *query.values_select, *query.annotation_select)
        converters = compiler.get_converters([column for column, *_ in compiler.select[: compiler.col_count]])
        statement = _Statement(sql, tuple(params), tuple(slots), names, compiler, converters)
        self._statements[using] = statement
        return statement


def columns(model, prefix: str = "") -> list[str]:
    """The names of a model's columns for `values()`: its own, or a related model's under `prefix` ("store__")."""
    return [prefix + field.attname for field in model._meta.concrete_fields]


def instance(model, row: dict, prefix: str = ""):
    """A model instance from a row holding `columns(model, prefix)`, built as the ORM builds one it has read."""
    names = columns(model)
    return model.from_db("default", names, [row[prefix + name] for name in names])
