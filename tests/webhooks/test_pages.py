"""The owners' Webhooks pages: add, switch, rotate, test, delete, and follow deliveries."""

import re

import pytest
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from merchants.models import Membership
from tests.factories import MembershipFactory, SiteFactory, StoreFactory
from webhooks.models import Endpoint
from webhooks.services import delivery_send, endpoint_create, endpoint_test

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.215.14/hooks"  # a public address, no DNS lookup


@pytest.fixture
def endpoint(merchant):
    return endpoint_create(merchant=merchant, url=PUBLIC_URL, events=["order.created"])


def shown_secret(response):
    match = re.search(r'id="new-secret">(whsec_[^<]+)<', response.content.decode())
    return match and match.group(1)


class TestList:
    def test_adding_a_webhook_shows_its_secret_once(self, owner_client):
        response = owner_client.post(
            reverse("webhooks"),
            {"url": PUBLIC_URL, "events": ["order.created", "order.cancelled"], "description": "Website"},
        )

        assert response.status_code == 200
        endpoint = Endpoint.objects.get()
        assert shown_secret(response) == endpoint.secret
        assert (endpoint.events, endpoint.description) == (["order.cancelled", "order.created"], "Website")
        again = owner_client.get(reverse("webhooks")).content.decode()
        assert endpoint.secret not in again and PUBLIC_URL in again and "Website" in again

    def test_the_form_lists_every_event_with_its_description(self, owner_client):
        page = owner_client.get(reverse("webhooks")).content.decode()

        assert 'value="order.delivered"' in page and "An order was delivered, with the proof" in page

    def test_a_private_url_is_refused_on_the_url_field(self, owner_client, settings):
        settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

        response = owner_client.post(reverse("webhooks"), {"url": "http://127.0.0.1:8001/hooks"})

        assert "private address" in response.context["form"].errors["url"][0]
        assert not Endpoint.objects.exists() and shown_secret(response) is None

    def test_switching_off_and_on_again(self, owner_client, endpoint):
        Endpoint.objects.filter(pk=endpoint.pk).update(disabled_reason="Switched off after failing for 72 hours.")
        owner_client.post(reverse("webhook_switch", args=[endpoint.pk]), {"on": "0"})
        endpoint.refresh_from_db()
        assert not endpoint.is_active
        assert "Switched off after failing" in owner_client.get(reverse("webhooks")).content.decode()

        owner_client.post(reverse("webhook_switch", args=[endpoint.pk]), {"on": "1"})

        endpoint.refresh_from_db()
        assert endpoint.is_active and endpoint.disabled_reason == ""

    def test_a_new_secret_is_shown_once_and_the_old_one_signs_for_a_while(self, owner_client, endpoint):
        old = endpoint.secret

        response = owner_client.post(reverse("webhook_rotate_secret", args=[endpoint.pk]))

        endpoint.refresh_from_db()
        assert shown_secret(response) == endpoint.secret != old
        assert "old secret keeps signing" in response.content.decode()
        assert endpoint.secret not in owner_client.get(reverse("webhooks")).content.decode()

    def test_a_test_event_reaches_the_receiver(
        self, owner_client, merchant, receiver, django_capture_on_commit_callbacks
    ):
        endpoint = endpoint_create(merchant=merchant, url=receiver.url, events=[])

        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(reverse("webhook_test", args=[endpoint.pk]))

        assert response.status_code == 302 and response.url == reverse("webhook_detail", args=[endpoint.pk])
        [(headers, body)] = receiver.received
        assert Webhook(endpoint.secret).verify(body, headers)["type"] == "webhook.test"

    def test_delete(self, owner_client, endpoint):
        response = owner_client.post(reverse("webhook_delete", args=[endpoint.pk]))

        assert response.status_code == 302 and not Endpoint.objects.exists()

    def test_buttons_only_post(self, owner_client, endpoint):
        for name in ["webhook_switch", "webhook_rotate_secret", "webhook_test", "webhook_delete"]:
            assert owner_client.get(reverse(name, args=[endpoint.pk])).status_code == 405
        assert Endpoint.objects.get().secret == endpoint.secret

    def test_the_nav_links_it_for_owners_only(self, owner_client, client, merchant):
        assert reverse("webhooks") in owner_client.get(reverse("dashboard")).content.decode()
        staff = MembershipFactory(merchant=merchant, role=Membership.Role.STAFF)
        client.force_login(staff.user)
        assert reverse("webhooks") not in client.get(reverse("dashboard")).content.decode()


class TestDeliveries:
    def test_recent_deliveries_with_their_attempts_and_resend(
        self, owner_client, merchant, receiver, django_capture_on_commit_callbacks
    ):
        StoreFactory(merchant=merchant, site=SiteFactory(timezone="America/New_York"))
        endpoint = endpoint_create(merchant=merchant, url=receiver.url, events=[])
        receiver.answers = [503]
        delivery = endpoint_test(endpoint=endpoint)
        delivery_send(delivery_id=delivery.pk)

        page = owner_client.get(reverse("webhook_detail", args=[endpoint.pk])).content.decode()

        assert delivery.event_id in page and "Retrying" in page and "your endpoint answered 503" in page
        assert "1 attempt<" in page and "America/New_York" in page and ("EST" in page or "EDT" in page)

        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(reverse("webhook_delivery_resend", args=[delivery.pk]))

        assert response.url == reverse("webhook_detail", args=[endpoint.pk])
        assert [headers["webhook-id"] for headers, _ in receiver.received] == [delivery.event_id] * 2
        page = owner_client.get(reverse("webhook_detail", args=[endpoint.pk])).content.decode()
        assert "Delivered" in page and "2 attempts" in page

    def test_times_are_in_utc_before_there_is_a_store(self, owner_client, endpoint):
        endpoint_test(endpoint=endpoint)

        page = owner_client.get(reverse("webhook_detail", args=[endpoint.pk])).content.decode()

        assert "Times are in UTC" in page and "On its way" in page


class TestWhoMay:
    def test_another_merchants_endpoint_and_delivery_are_404(self, owner_client):
        theirs = endpoint_create(merchant=MembershipFactory().merchant, url=PUBLIC_URL, events=[])
        delivery = endpoint_test(endpoint=theirs)

        assert owner_client.get(reverse("webhook_detail", args=[theirs.pk])).status_code == 404
        for name in ["webhook_switch", "webhook_rotate_secret", "webhook_test", "webhook_delete"]:
            assert owner_client.post(reverse(name, args=[theirs.pk]), {"on": "0"}).status_code == 404, name
        assert owner_client.post(reverse("webhook_delivery_resend", args=[delivery.pk])).status_code == 404
        assert PUBLIC_URL not in owner_client.get(reverse("webhooks")).content.decode()
        theirs.refresh_from_db()
        assert theirs.is_active and theirs.deliveries.count() == 1

    def test_staff_members_are_refused(self, client, merchant, endpoint):
        staff = MembershipFactory(merchant=merchant, role=Membership.Role.STAFF)
        client.force_login(staff.user)

        assert client.get(reverse("webhooks")).status_code == 403
        assert client.post(reverse("webhooks"), {"url": PUBLIC_URL}).status_code == 403
        assert client.get(reverse("webhook_detail", args=[endpoint.pk])).status_code == 403
        assert client.post(reverse("webhook_delete", args=[endpoint.pk])).status_code == 403
        assert Endpoint.objects.count() == 1

    def test_anonymous_visitors_go_to_login(self, client, endpoint):
        for url in [reverse("webhooks"), reverse("webhook_detail", args=[endpoint.pk])]:
            response = client.get(url)
            assert response.status_code == 302 and response.url.startswith(reverse("login"))


class TestQueries:
    @pytest.mark.parametrize("count", [2, 20])
    def test_the_list_page(self, owner_client, merchant, count, django_assert_num_queries):
        StoreFactory(merchant=merchant)
        for number in range(count):
            endpoint_create(merchant=merchant, url=f"{PUBLIC_URL}/{number}", events=["order.created"])

        # session, user, membership, endpoints, the first store's zone
        with django_assert_num_queries(5):
            response = owner_client.get(reverse("webhooks"))

        assert len(response.context["endpoints"]) == count

    @pytest.mark.parametrize("count", [2, 20])
    def test_the_deliveries_page(self, owner_client, merchant, receiver, count, django_assert_num_queries):
        endpoint = endpoint_create(merchant=merchant, url=receiver.url, events=[])
        receiver.answers = [500, 200] * count
        for _ in range(count):
            delivery = endpoint_test(endpoint=endpoint)
            delivery_send(delivery_id=delivery.pk)
            delivery_send(delivery_id=delivery.pk)

        # session, user, membership, endpoint, count, deliveries, their attempts, the first store's zone
        with django_assert_num_queries(8):
            response = owner_client.get(reverse("webhook_detail", args=[endpoint.pk]))

        assert len(response.context["page"]) == count
