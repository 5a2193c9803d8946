from django.db import connection


def transaction_serialize(name: str) -> None:
    """Inside a transaction: wait until no other transaction that called this with `name` is open, and hold them
    off until this one ends. For a check-then-write with no row to lock (has today's digest gone out?).

    PostgreSQL's advisory lock; SQLite lets one transaction write at a time already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
