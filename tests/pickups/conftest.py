import pytest
from rest_framework.test import APIClient

from merchants.services import api_key_create
from tests.factories import StoreFactory


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, name="Desert Bloom Chandler")


@pytest.fixture
def api(merchant):
    """An API client authenticated with one of the merchant's API keys."""
    _, raw = api_key_create(merchant=merchant, name="Checkout", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get("/api/v1/stores/")  # the key's use of this minute is noted now, not in a request a test counts
    return client
