import logging
from functools import partial

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task_name: str, **kwargs) -> None:
    """Send the task named `task_name` once the current transaction commits, never inside it.

    Tasks are named, not imported, so a service never imports its own app's `tasks` module
    (which imports the services). A broker that is down must not turn a committed request into
    an error: the failure is logged and the periodic sweep of the rows the task works on picks
    the work up later.
    """
    transaction.on_commit(partial(_send, task_name, kwargs))


def _send(task_name: str, kwargs) -> None:
    try:
        _task(task_name).apply_async(kwargs=kwargs)
    except Exception:
        logger.warning("Could not enqueue %s(%s); the sweep will retry.", task_name, kwargs, exc_info=True)


def _task(name: str):
    app = current_app
    if name not in app.tasks:
        app.loader.import_default_modules()  # autodiscovery of the apps' tasks, as a worker does at start
    return app.tasks[name]
