import logging
from collections.abc import Iterable
from functools import partial

from celery import current_app
from django.core.cache import cache
from django.db import transaction

from common.cache import cache_is_shared

logger = logging.getLogger(__name__)


def enqueue_on_commit(task_name: str, **kwargs) -> None:
    """Send the task named `task_name` once the current transaction commits, never inside it.

    Tasks are named, not imported, so a service never imports its own app's `tasks` module
    (which imports the services). A broker that is down must not turn a committed request into
    an error: the failure is logged and the periodic sweep of the rows the task works on picks
    the work up later.
    """
    transaction.on_commit(partial(_send, task_name, kwargs))


def enqueue_on_commit_gathered(task_name: str, *, argument: str, keys: Iterable) -> None:
    """`enqueue_on_commit` for work on keys (stores, say) that a later run does as well as an earlier one
    (schedule every ready order of the store): after commit, the task is sent for the keys no task sent is
    still waiting on. The task calls `gathered_started` before it reads its work, so whatever committed before
    then is its work too (or that of a run holding it locked): requests that come while a task waits to start
    send none (a message costs about a millisecond of the request's CPU). The keys wait in the cache, which
    every process must share (a per-process cache would never hear that the task started: then every request
    sends its task)."""
    transaction.on_commit(partial(_send_gathered, task_name, argument, set(keys)))


def gathered_started(task_name: str, keys: Iterable) -> None:
    """For a task sent by `enqueue_on_commit_gathered`, as it starts: requests from now on send a new one."""
    _unwait(task_name, keys)


# A task that never starts (a lost message) holds its keys this long; meanwhile the sweep does its work.
GATHERED_WAIT = 60


def _send_gathered(task_name: str, argument: str, keys: set) -> None:
    due = [key for key in sorted(keys) if _wait_on(task_name, key)]
    if due and not _send(task_name, {argument: due}):
        _unwait(task_name, due)  # not sent: the next request tries


def _wait_on(task_name: str, key) -> bool:
    """Whether no task sent for `key` is waiting to start; if so, the caller's is now (a shared cache's atomic add)."""
    if not cache_is_shared():
        return True
    try:
        return cache.add(_waiting(task_name, key), 1, timeout=GATHERED_WAIT)
    except Exception:  # the cache is down: send, as if nothing waited
        logger.warning("Could not note a task for %s in the cache; sending it.", key, exc_info=True)
        return True


def _unwait(task_name: str, keys: Iterable) -> None:
    """No task waits for these keys any more. A cache that is down keeps its notes until GATHERED_WAIT runs out
    (the sweep meanwhile): never an error after the request's commit, nor for the task."""
    if not cache_is_shared():
        return
    try:
        cache.delete_many([_waiting(task_name, key) for key in keys])
    except Exception:
        logger.warning("Could not clear the waiting notes of %s in the cache.", task_name, exc_info=True)


def _waiting(task_name: str, key) -> str:
    return f"task-waiting:{task_name}:{key}"


def _send(task_name: str, kwargs) -> bool:
    try:
        _task(task_name).apply_async(kwargs=kwargs)
    except Exception:
        logger.warning("Could not enqueue %s(%s); the sweep will retry.", task_name, kwargs, exc_info=True)
        return False
    return True


def _task(name: str):
    app = current_app
    if name not in app.tasks:
        app.loader.import_default_modules()  # autodiscovery of the apps' tasks, as a worker does at start
    return app.tasks[name]
