"""The webhooks API: owners (API keys or logged in) manage endpoints; secrets are shown once."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from merchants.models import Membership
from merchants.services import api_key_create
from tests.factories import MembershipFactory
from webhooks.catalogue import EVENTS
from webhooks.models import Delivery, Endpoint
from webhooks.services import ROTATION_OVERLAP, delivery_send, endpoint_create, endpoint_test

pytestmark = pytest.mark.django_db

# A literal public address: accepted with WEBHOOK_ALLOW_PRIVATE_URLS off, and no DNS lookup needed.
PUBLIC_URL = "https://93.184.215.14/hooks"


@pytest.fixture
def api(owner):
    """The owner, logged in."""
    client = APIClient()
    client.force_login(owner)
    return client


@pytest.fixture
def key_api(merchant):
    """The merchant's API key (made by an owner)."""
    _, raw = api_key_create(merchant=merchant, name="Website", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def endpoint(merchant):
    return endpoint_create(merchant=merchant, url=PUBLIC_URL, events=["order.created"], description="Shop sync")


@pytest.fixture
def theirs():
    """Another merchant's endpoint, with one delivery."""
    endpoint = endpoint_create(merchant=MembershipFactory().merchant, url=PUBLIC_URL, events=[])
    endpoint_test(endpoint=endpoint)
    return endpoint


def routes(endpoint_id, delivery_id):
    return [
        ("get", "/api/v1/webhooks/"),
        ("post", "/api/v1/webhooks/"),
        ("get", "/api/v1/webhooks/events/"),
        ("get", f"/api/v1/webhooks/{endpoint_id}/"),
        ("patch", f"/api/v1/webhooks/{endpoint_id}/"),
        ("delete", f"/api/v1/webhooks/{endpoint_id}/"),
        ("post", f"/api/v1/webhooks/{endpoint_id}/rotate-secret/"),
        ("post", f"/api/v1/webhooks/{endpoint_id}/test/"),
        ("get", f"/api/v1/webhooks/{endpoint_id}/deliveries/"),
        ("post", f"/api/v1/webhook-deliveries/{delivery_id}/resend/"),
    ]


class TestCreate:
    @pytest.mark.parametrize("client_name", ["api", "key_api"])
    def test_the_secret_is_in_the_answer_to_create_and_never_again(self, request, client_name):
        client = request.getfixturevalue(client_name)

        response = client.post(
            "/api/v1/webhooks/",
            {"url": PUBLIC_URL, "events": ["order.created", "order.delivered"], "description": "Order sync"},
            format="json",
        )

        assert response.status_code == 201, response.data
        endpoint = Endpoint.objects.get()
        secret = response.data["secret"]
        assert secret.startswith("whsec_") and secret == endpoint.secret
        assert response.data["events"] == ["order.created", "order.delivered"] and response.data["is_active"]
        later = [
            client.get("/api/v1/webhooks/"),
            client.get(f"/api/v1/webhooks/{endpoint.pk}/"),
            client.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"description": "Renamed"}, format="json"),
        ]
        for answer in later:
            assert answer.status_code == 200
            assert secret not in answer.content.decode() and "secret" not in answer.content.decode().replace(
                "previous_secret_until", ""
            )

    def test_no_events_means_all_and_it_can_start_switched_off(self, api):
        response = api.post("/api/v1/webhooks/", {"url": PUBLIC_URL, "is_active": False}, format="json")

        assert response.status_code == 201
        endpoint = Endpoint.objects.get()
        assert endpoint.events == [] and not endpoint.is_active
        assert endpoint.wants("order.cancelled") is False  # off
        endpoint.is_active = True
        assert endpoint.wants("order.cancelled")

    @pytest.mark.parametrize(
        "url", ["http://127.0.0.1:9/hooks", "http://10.0.0.8/hooks", "http://169.254.169.254/latest"]
    )
    def test_a_private_url_is_a_400_naming_url(self, api, settings, url):
        settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

        response = api.post("/api/v1/webhooks/", {"url": url, "events": []}, format="json")

        assert response.status_code == 400
        assert list(response.data) == ["url"] and "private address" in response.data["url"][0]
        assert not Endpoint.objects.exists()

    def test_https_only_is_a_400_naming_url(self, api, settings):
        settings.WEBHOOK_HTTPS_ONLY = True

        response = api.post("/api/v1/webhooks/", {"url": "http://93.184.215.14/hooks"}, format="json")

        assert response.status_code == 400 and "https" in response.data["url"][0]

    def test_unknown_events_are_a_400_naming_events(self, api):
        response = api.post(
            "/api/v1/webhooks/", {"url": PUBLIC_URL, "events": ["order.created", "order.teleported"]}, format="json"
        )

        assert response.status_code == 400
        assert "order.teleported" in response.data["events"][0]
        assert not Endpoint.objects.exists()

    def test_a_missing_url_is_a_400(self, api):
        response = api.post("/api/v1/webhooks/", {"events": []}, format="json")

        assert response.status_code == 400 and "url" in response.data


class TestChange:
    def test_switching_it_on_again_clears_why_it_was_off(self, api, endpoint):
        Endpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason="Switched off after 72 hours")

        response = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"is_active": True}, format="json")

        assert response.status_code == 200
        assert response.data["is_active"] and response.data["disabled_reason"] == ""
        endpoint.refresh_from_db()
        assert endpoint.is_active and endpoint.disabled_reason == ""

    def test_patch_changes_only_what_it_names(self, api, endpoint):
        response = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"events": ["order.cancelled"]}, format="json")

        assert response.status_code == 200
        endpoint.refresh_from_db()
        assert endpoint.events == ["order.cancelled"] and endpoint.url == PUBLIC_URL
        assert endpoint.description == "Shop sync" and endpoint.is_active

    def test_bad_changes_are_400s_naming_the_field(self, api, endpoint, settings):
        settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

        bad_events = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"events": ["order.lost"]}, format="json")
        bad_url = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"url": "http://10.1.2.3/"}, format="json")

        assert bad_events.status_code == 400 and "events" in bad_events.data
        assert bad_url.status_code == 400 and "url" in bad_url.data
        endpoint.refresh_from_db()
        assert endpoint.events == ["order.created"] and endpoint.url == PUBLIC_URL

    def test_put_is_not_offered(self, api, endpoint):
        assert api.put(f"/api/v1/webhooks/{endpoint.pk}/", {"url": PUBLIC_URL}, format="json").status_code == 405

    def test_delete_removes_it(self, api, endpoint):
        assert api.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 204
        assert not Endpoint.objects.exists()

    def test_rotating_returns_a_new_secret_once_and_when_the_old_one_stops(self, api, endpoint):
        old = endpoint.secret

        response = api.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret/")

        assert response.status_code == 200
        endpoint.refresh_from_db()
        assert response.data["secret"] == endpoint.secret != old and endpoint.previous_secret == old
        until = endpoint.previous_secret_until
        assert abs(until - (timezone.now() + ROTATION_OVERLAP)) < timedelta(minutes=1)
        assert response.data["previous_secret_until"] == until.isoformat().replace("+00:00", "Z")
        shown = api.get(f"/api/v1/webhooks/{endpoint.pk}/").content.decode()
        assert endpoint.secret not in shown and old not in shown


class TestDeliveries:
    def test_a_test_event_reaches_the_receiver_signed_with_the_endpoints_secret(
        self, api, merchant, receiver, django_capture_on_commit_callbacks
    ):
        endpoint = endpoint_create(merchant=merchant, url=receiver.url, events=["order.cancelled"])

        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/v1/webhooks/{endpoint.pk}/test/")

        assert response.status_code == 202 and response.data["status"] == "pending"
        [(headers, body)] = receiver.received
        payload = Webhook(endpoint.secret).verify(body, headers)
        assert payload["type"] == "webhook.test" and payload["id"] == response.data["event_id"]
        assert payload["data"] == {"message": "It works."}
        [delivery] = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").data["results"]
        assert delivery["status"] == "sent" and delivery["payload"] == payload
        assert [(a["succeeded"], a["status_code"]) for a in delivery["attempts"]] == [(True, 200)]

    def test_deliveries_newest_first_each_with_its_attempts(self, api, merchant, receiver):
        endpoint = endpoint_create(merchant=merchant, url=receiver.url, events=[])
        receiver.answers = [500]
        first = endpoint_test(endpoint=endpoint)
        delivery_send(delivery_id=first.pk)
        delivery_send(delivery_id=first.pk)
        second = endpoint_test(endpoint=endpoint)

        response = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")

        assert response.status_code == 200 and response.data["count"] == 2
        newest, oldest = response.data["results"]
        assert (newest["id"], oldest["id"]) == (second.pk, first.pk)
        assert newest["attempts"] == [] and newest["status"] == "pending"
        assert oldest["status"] == "sent" and oldest["attempt_count"] == 2
        failed, succeeded = oldest["attempts"]
        assert set(failed) == {"started_at", "duration_ms", "succeeded", "status_code", "error", "response_excerpt"}
        assert (failed["succeeded"], failed["status_code"], failed["error"]) == (
            False,
            500,
            "Your endpoint answered 500.",
        )
        assert failed["response_excerpt"] == '{"ok": false}' and isinstance(failed["duration_ms"], int)
        assert (succeeded["succeeded"], succeeded["status_code"]) == (True, 200)

    def test_resend_posts_again_with_the_same_event_id(
        self, api, merchant, receiver, django_capture_on_commit_callbacks
    ):
        endpoint = endpoint_create(merchant=merchant, url=receiver.url, events=[])
        delivery = endpoint_test(endpoint=endpoint)
        delivery_send(delivery_id=delivery.pk)

        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend/")

        assert response.status_code == 202 and response.data["id"] == delivery.pk
        assert len(receiver.received) == 2
        assert {headers["webhook-id"] for headers, _ in receiver.received} == {delivery.event_id}
        delivery.refresh_from_db()
        assert delivery.status == "sent" and delivery.attempts == 2

    def test_the_catalogue(self, key_api):
        response = key_api.get("/api/v1/webhooks/events/")

        assert response.status_code == 200
        assert response.json() == [{"type": name, "description": text} for name, text in EVENTS.items()]


class TestWhoMay:
    def test_another_merchants_endpoint_and_delivery_are_404_everywhere(self, api, theirs):
        delivery = theirs.deliveries.get()

        for method, path in routes(theirs.pk, delivery.pk):
            if path in ("/api/v1/webhooks/", "/api/v1/webhooks/events/"):
                continue
            response = getattr(api, method)(path, {"is_active": False}, format="json")
            assert response.status_code == 404, (method, path)

        assert api.get("/api/v1/webhooks/").data["count"] == 0
        theirs.refresh_from_db()
        assert theirs.is_active and Delivery.objects.filter(endpoint=theirs).count() == 1

    def test_staff_members_are_refused(self, client, merchant, endpoint):
        staff = MembershipFactory(merchant=merchant, role=Membership.Role.STAFF)
        api = APIClient()
        api.force_login(staff.user)
        delivery = endpoint_test(endpoint=endpoint)

        for method, path in routes(endpoint.pk, delivery.pk):
            response = getattr(api, method)(path, {"url": PUBLIC_URL}, format="json")
            assert response.status_code == 403, (method, path)
            assert "owner" in response.data["detail"]
        assert Endpoint.objects.count() == 1

    def test_anonymous_callers_are_401(self, endpoint):
        delivery = endpoint_test(endpoint=endpoint)

        for method, path in routes(endpoint.pk, delivery.pk):
            assert getattr(APIClient(), method)(path).status_code == 401, (method, path)


class TestQueries:
    @pytest.mark.parametrize("count", [2, 20])
    def test_the_endpoint_list(self, api, merchant, count, django_assert_num_queries):
        for number in range(count):
            endpoint_create(merchant=merchant, url=f"{PUBLIC_URL}/{number}", events=[])

        # session, user, membership, owner check, count, endpoints
        with django_assert_num_queries(6):
            response = api.get("/api/v1/webhooks/")

        assert response.data["count"] == count

    @pytest.mark.parametrize("count", [2, 20])
    def test_the_delivery_list(self, api, merchant, receiver, count, django_assert_num_queries):
        endpoint = endpoint_create(merchant=merchant, url=receiver.url, events=[])
        receiver.answers = [500, 200] * count  # each fails once, then arrives
        for _ in range(count):
            delivery = endpoint_test(endpoint=endpoint)
            delivery_send(delivery_id=delivery.pk)
            delivery_send(delivery_id=delivery.pk)

        # session, user, membership, owner check, endpoint, count, deliveries, their attempts
        with django_assert_num_queries(8):
            response = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")

        assert len(response.data["results"]) == count
        assert all(len(delivery["attempts"]) == 2 for delivery in response.data["results"])
