"""`AnyOf`: the `in` lookup for thousands of integers (a batch's primary keys), sent as one parameter."""

from django.core.exceptions import EmptyResultSet
from django.db.models import Lookup
from django.db.models.lookups import In

from common.bulk import array_text


class AnyOf(Lookup):
    """`filter(AnyOf(F("pk"), ids))` matches the rows `filter(pk__in=ids)` matches, for integer ids (None
    matches nothing, as with `in`). On PostgreSQL the ids travel as one array (`= ANY(%s)`) rather than a
    parameter each: five thousand of them are compiled and sent in a millisecond, not a third of a second,
    and the statement has one shape whatever their number."""

    def get_prep_lookup(self):
        # Read once, here: an iterator of ids serves every later compiling of the query.
        return tuple(int(value) for value in self.rhs if value is not None)

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            return In(self.lhs, self.rhs).as_sql(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet  # as `in` does: no row matches nothing
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, array_text(self.rhs))
