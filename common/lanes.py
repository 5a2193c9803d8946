"""Independent transactions run side by side, each on a database connection of its own.

A batch of bulk work alternates between Python (working out what to write) and PostgreSQL (writing it).
Two lanes overlap the halves: while one waits on the database (psycopg releases the GIL), the other
computes, so a run takes about the longer half rather than their sum.
"""

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection, connections

logger = logging.getLogger(__name__)

LANES = 2

T = TypeVar("T")
R = TypeVar("R")


def in_lanes(work: Callable[[T], R], items: Sequence[T], *, lanes: int = LANES) -> list[R]:
    """`[work(item) for item in items]`, run in `lanes` threads when that is safe; results in items' order.

    `work` must commit (or roll back) each item in a transaction of its own, and items must touch
    disjoint rows. It runs in this thread, one item after another, inside a caller's transaction (other
    connections would neither see its rows nor roll back with it) and on a database other than PostgreSQL
    (SQLite takes one writer at a time). The first failure stops the lanes taking more items and is raised
    once they have stopped: as in turn, the items before it are committed; unlike in turn, the other lane
    finishes the item it holds, which may come after it. An exception raised in the caller's thread while it
    waits stops them too.
    """
    in_transaction = connection.in_atomic_block or not connection.get_autocommit()
    if lanes < 2 or len(items) < 2 or in_transaction or connection.vendor != "postgresql":
        return [work(item) for item in items]
    results: list = [None] * len(items)
    taken = iter(range(len(items)))
    taking = threading.Lock()
    failures: list[BaseException] = []
    stop = threading.Event()

    def lane() -> None:
        try:
            while not stop.is_set():
                with taking:
                    index = next(taken, None)
                if index is None:
                    return
                results[index] = work(items[index])
        except BaseException as error:  # raised again in the caller's thread
            failures.append(error)
            stop.set()
        finally:
            connections.close_all()  # this thread's own connections: nothing else would close them

    threads = [threading.Thread(target=lane, name=f"lane-{number}") for number in range(min(lanes, len(items)))]
    started = []
    try:
        for thread in threads:
            thread.start()
            started.append(thread)
        for thread in threads:
            thread.join()
    except BaseException:
        # The caller is interrupted (a task's soft time limit, say): the lanes finish the items they hold and take
        # no other, so nothing runs on after the call that raised.
        stop.set()
        for thread in started:
            thread.join()
        if failures:
            logger.error("A lane failed while its caller was interrupted.", exc_info=failures[0])
        raise
    if failures:
        raise failures[0]
    return results
