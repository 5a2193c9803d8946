"""An API key's `last_used_at` is written at most once a minute, not on every request."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from merchants.models import ApiKey
from merchants.services import api_key_authenticate, api_key_create

pytestmark = pytest.mark.django_db

NOON = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def key(merchant):
    api_key, raw = api_key_create(merchant=merchant, name="Checkout", created_by=None)
    return api_key, raw


def test_the_first_use_is_noted_then_none_for_a_minute_then_again(key, django_assert_num_queries):
    api_key, raw = key
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    with time_machine.travel(NOON, tick=False):
        with django_assert_num_queries(2):  # the key, the note
            api_key_authenticate(raw)
        with django_assert_num_queries(2):  # the key and its merchant, the stores: no write
            assert api.get("/api/v1/stores/").status_code == 200
    with time_machine.travel(NOON + timedelta(seconds=59), tick=False), django_assert_num_queries(1):
        api_key_authenticate(raw)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == NOON

    with time_machine.travel(NOON + timedelta(minutes=1), tick=False):
        api_key_authenticate(raw)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == NOON + timedelta(minutes=1)
