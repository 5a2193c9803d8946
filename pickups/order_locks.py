"""How a move reads the orders it moves: locked, with their merchants, in one read.

A move (pickups.ledger) takes orders in any of the forms of `Orders`; the API's frequent moves of one order
give it a locked read compiled once (`compiled_lock`), built from the same `orders_locking`.
"""

from collections.abc import Callable, Iterable

from django.db.models import QuerySet

from common.compiled import CompiledInstances
from webhooks.services import merchant_listens

from .models import Order

# What a move is given: the orders, a QuerySet of them (locked as given, so that one read may also scope them to a
# tenant and load what the caller shows of them), or a compiled locked read bound to its arguments (`compiled_lock`).
Orders = Iterable[Order] | QuerySet[Order] | Callable[[], list[Order]]
OneOrder = Order | QuerySet[Order] | Callable[[], list[Order]]


def orders_locking(orders: QuerySet[Order]) -> QuerySet[Order]:
    """A move's locked read of `orders`: with whether their merchants listen for webhooks, in id order (so two
    bulk moves cannot deadlock), only the orders' rows locked (not the related rows the caller reads with them)."""
    return orders.annotate(merchant_listens=merchant_listens()).select_for_update(of=("self",)).order_by("pk")


def compiled_lock(build: Callable[..., QuerySet[Order]], *, related: tuple[str, ...] = (), **samples):
    """A move's locked read of a fixed shape compiled once (common.compiled), for a frequent move of one order:
    `build(**arguments)` gives the orders, `related` what to load with them besides their merchant. Bind it to
    its arguments (functools.partial) and give it to the move, which runs it in its transaction."""
    return CompiledInstances(
        Order, lambda **arguments: orders_locking(build(**arguments)), related=("merchant", *related), **samples
    )


def orders_locked(orders: Orders) -> list[Order]:
    """The orders of a move, locked (see `orders_locking`), with their merchants."""
    if callable(orders):
        return orders()
    if not isinstance(orders, QuerySet):
        orders = Order.objects.filter(pk__in=sorted({order.pk for order in orders}))
    return list(orders_locking(orders.select_related("merchant")))


def one_order(order: OneOrder) -> Orders:
    """One order, or a read of it, as a move of many takes it."""
    return [order] if isinstance(order, Order) else order
