import pytest
from django.db import connection

from tests.factories import PASSWORD, MembershipFactory


def pytest_collection_modifyitems(config, items):
    """Tests that need PostgreSQL or a real broker say so with a marker; elsewhere they are skipped."""
    from django.conf import settings

    on_postgres = connection.vendor == "postgresql"
    real_broker = settings.CELERY_BROKER_URL.startswith("redis://")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))
        if "broker" in item.keywords and not real_broker:
            item.add_marker(pytest.mark.skip(reason="needs a real broker: set CELERY_BROKER_URL=redis://..."))


@pytest.fixture
def owner(db):
    """The owner login of an approved merchant."""
    return MembershipFactory().user


@pytest.fixture
def merchant(owner):
    return owner.membership.merchant


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def password():
    return PASSWORD
