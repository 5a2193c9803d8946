import logging
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, **kwargs) -> None:
    """Send `task` once the current transaction commits, never inside it.

    A broker that is down must not turn a committed request into an error: the failure is logged
    and the periodic sweep of the rows the task works on picks the work up later.
    """
    transaction.on_commit(partial(_send, task, kwargs))


def _send(task, kwargs) -> None:
    try:
        task.apply_async(kwargs=kwargs)
    except Exception:
        logger.warning("Could not enqueue %s(%s); the sweep will retry.", task.name, kwargs, exc_info=True)
