"""A database that cannot answer right now: 503 with Retry-After, never a plain 500.

A request whose connection was dropped (PostgreSQL restarted or failed over, the backend terminated, a pool
in front of it recycled) did nothing half-way: its transaction was rolled back with the connection. The
client only needs to send it again (with the same Idempotency-Key for a create), and Django opens a fresh
connection for the next request: it drops a connection that raised such an error once the request ends
(`close_if_unusable_or_obsolete`), and production checks a kept connection before reusing it.
"""

import logging
import sqlite3

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is briefly unavailable: send the request again in a few seconds (with the same Idempotency-Key)."

# PostgreSQL SQLSTATEs (or their class) that mean the connection failed, not the request: class 08
# (connection exception), the server shutting down, crashed or still starting (57P01-57P03), too many
# connections (53300). Deadlocks (40P01), timeouts (57014) and the like stay 500s: they are bugs to see.
LOST_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database could not be reached or dropped the connection mid-request.

    Not every OperationalError: a missing table is a deploy mistake (500). SQLite's "database is locked"
    (another writer held the file past the 20 s timeout) counts, as it is contention that passes.
    """
    if isinstance(error, InterfaceError):
        return True  # the connection object is closed or broken: Django raises this on reuse
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if isinstance(cause, sqlite3.OperationalError):
        return "locked" in str(cause)
    if isinstance(cause, psycopg.OperationalError):
        # No SQLSTATE: the client lost the server (refused, reset, closed) before any answer.
        return cause.sqlstate is None or cause.sqlstate.startswith(LOST_CONNECTION_SQLSTATES)
    return False


def unavailable_json() -> JsonResponse:
    """The API's shape of every error, `{"detail": ...}`, for a request that hit such an error."""
    return _with_retry_after(JsonResponse({"detail": MESSAGE}, status=503))


def unavailable_page() -> HttpResponse:
    """The portal's page. Rendered without the request: its context processors would query the database."""
    page = render_to_string("503.html")
    return _with_retry_after(HttpResponse(page, status=503))


def log_unavailable(error: BaseException) -> None:
    logger.warning("Database unavailable, answered 503: %s", error, exc_info=error)


def _with_retry_after(response: HttpResponse) -> HttpResponse:
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
