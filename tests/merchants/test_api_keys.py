import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from merchants.models import ApiKey, Membership
from merchants.services import api_key_create
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_new_key_is_shown_once_stored_hashed_and_works(owner_client):
    response = owner_client.post(reverse("api_keys"), {"name": "Website checkout"})

    raw = re.search(r'id="new-key">(mpk_[^<]+)<', response.content.decode()).group(1)
    api_key = ApiKey.objects.get()
    assert raw not in api_key.key_hash and api_key.prefix == raw[:12]
    assert raw not in owner_client.get(reverse("api_keys")).content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/stores/").status_code == 200
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_a_revoked_key_stops_working(owner_client, merchant):
    api_key, raw = api_key_create(merchant=merchant, name="Old", created_by=None)

    owner_client.post(reverse("api_key_revoke", args=[api_key.pk]))

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/stores/").status_code == 401
    assert "Revoked" in owner_client.get(reverse("api_keys")).content.decode()


def test_a_key_needs_a_name(owner_client):
    response = owner_client.post(reverse("api_keys"), {"name": ""})

    assert response.context["form"].errors["name"]
    assert not ApiKey.objects.exists()


def test_staff_cannot_see_or_create_keys(client, merchant):
    staff = MembershipFactory(merchant=merchant, role=Membership.Role.STAFF)
    client.force_login(staff.user)

    assert client.get(reverse("api_keys")).status_code == 403
    assert client.post(reverse("api_keys"), {"name": "Sneaky"}).status_code == 403
    assert not ApiKey.objects.exists()


def test_another_merchants_key_is_404(owner_client):
    theirs, _ = api_key_create(merchant=MembershipFactory().merchant, name="Theirs", created_by=None)

    assert owner_client.post(reverse("api_key_revoke", args=[theirs.pk])).status_code == 404
    assert "Theirs" not in owner_client.get(reverse("api_keys")).content.decode()
    theirs.refresh_from_db()
    assert theirs.is_active


def test_anonymous_visitors_go_to_login(client):
    response = client.get(reverse("api_keys"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("count", [2, 20])
def test_the_key_list_runs_a_constant_number_of_queries(owner_client, merchant, count, django_assert_num_queries):
    for number in range(count):
        api_key_create(merchant=merchant, name=f"Key {number}", created_by=merchant.memberships.get().user)

    # session, user, membership, keys with their creators
    with django_assert_num_queries(4):
        response = owner_client.get(reverse("api_keys"))

    assert len(response.context["keys"]) == count
