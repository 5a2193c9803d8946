"""Webhooks from the ledger to a real local receiver: signed, retried, recorded, de-duplicable, safe."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from common.actors import SYSTEM
from pickups.ledger import orders_transition
from pickups.models import Order
from pickups.services import order_cancel
from tests.factories import MembershipFactory, StoreFactory, make_orders
from webhooks.models import Delivery
from webhooks.services import (
    LEASE,
    RETRY_SCHEDULE,
    delivery_send,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_update,
)
from webhooks.tasks import resend_due_deliveries

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def endpoint(store, receiver):
    return endpoint_create(merchant=store.merchant, url=receiver.url, events=[])


def verified(endpoint, headers, body, secret=None):
    return Webhook(secret or endpoint.secret).verify(body, headers)


def test_ledger_events_arrive_in_order_signed_with_the_order_as_the_api_shows_it(
    store, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [order] = make_orders(store)
    with django_capture_on_commit_callbacks(execute=True):
        orders_transition(orders=[order], to=Order.Status.READY, actor=SYSTEM)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=order, actor=SYSTEM, reason="Out of stock")

    assert [event["type"] for event in receiver.events()] == ["order.created", "order.ready", "order.cancelled"]
    for headers, body in receiver.received:
        payload = verified(endpoint, headers, body)
        assert payload["id"] == headers["webhook-id"] and payload["id"].startswith("evt_")
        assert payload["data"]["id"] == order.pk and payload["data"]["tracking_code"] == order.tracking_code
    assert receiver.events()[-1]["data"]["status"] == "cancelled"
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_events_of_a_rolled_back_change_are_never_sent(store, endpoint, receiver):
    with pytest.raises(RuntimeError), transaction.atomic():
        make_orders(store)
        raise RuntimeError("the request failed after creating the order")

    assert not Delivery.objects.exists() and receiver.received == []


def test_only_the_subscribed_events_of_active_endpoints(store, receiver, django_capture_on_commit_callbacks):
    picky = endpoint_create(merchant=store.merchant, url=receiver.url, events=["order.cancelled"])
    endpoint_create(merchant=StoreFactory().merchant, url=receiver.url, events=[])  # another merchant's
    with django_capture_on_commit_callbacks(execute=True):
        [order] = make_orders(store)
        order_cancel(order=order, actor=SYSTEM, reason="No longer needed")

    assert [event["type"] for event in receiver.events()] == ["order.cancelled"]
    assert Delivery.objects.get().endpoint == picky


def test_two_failures_then_success_one_recorded_success_and_no_duplicate_after(store, endpoint, receiver):
    receiver.answers = [500, 500]
    make_orders(store)  # on_commit not run: the sends below are the task's and the sweep's
    delivery = Delivery.objects.get()

    delivery_send(delivery_id=delivery.pk)
    delivery_send(delivery_id=delivery.pk)  # the retry is not due yet, but a direct send posts
    delivery_send(delivery_id=delivery.pk)
    assert delivery_send(delivery_id=delivery.pk) is None  # already delivered: nothing more

    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 3
    assert [a.succeeded for a in delivery.attempt_log.all()] == [False, False, True]
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 500, 200]
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1  # the same id on every retry
    assert len(receiver.received) == 3


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(store, endpoint, receiver):
    receiver.answers = ["slow"]
    make_orders(store)
    delivery = Delivery.objects.get()

    delivery_send(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    [attempt] = delivery.attempt_log.all()
    assert not attempt.succeeded and "timed out" in attempt.error.lower() and delivery.status == "pending"
    waited = delivery.next_attempt_at - attempt.started_at - timedelta(milliseconds=attempt.duration_ms)
    slack = timedelta(seconds=0.2)
    assert RETRY_SCHEDULE[0] - slack <= waited <= RETRY_SCHEDULE[0] * 1.2 + slack


def test_after_a_rotation_both_secrets_sign_for_a_day(store, endpoint, receiver):
    old = endpoint.secret
    endpoint_rotate_secret(endpoint=endpoint)
    make_orders(store)
    delivery_send(delivery_id=Delivery.objects.get().pk)

    [(headers, body)] = receiver.received
    assert len(headers["webhook-signature"].split(" ")) == 2
    verified(endpoint, headers, body)
    verified(endpoint, headers, body, secret=old)

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        Delivery.objects.update(status="pending", claimed_until=None)
        delivery_send(delivery_id=Delivery.objects.get().pk)
    headers, body = receiver.received[-1]
    assert len(headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers | {"webhook-timestamp": str(int(timezone.now().timestamp()))})


def test_an_endpoint_failing_for_72_hours_is_switched_off_and_its_owner_told(
    store, endpoint, receiver, django_capture_on_commit_callbacks
):
    owner = MembershipFactory(merchant=store.merchant).user
    receiver.answers = [503] * 50
    make_orders(store)
    delivery = Delivery.objects.get()
    start = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(len(RETRY_SCHEDULE) + 1):
            delivery.refresh_from_db()
            with time_machine.travel(max(delivery.next_attempt_at, timezone.now()) + timedelta(seconds=1)):
                delivery_send(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == len(RETRY_SCHEDULE) + 1
    assert delivery.attempt_log.last().started_at - start >= timedelta(hours=72)
    assert not endpoint.is_active and "72 hours" in endpoint.disabled_reason
    assert sum(RETRY_SCHEDULE, timedelta()) > timedelta(hours=72)  # jitter only lengthens the waits
    assert [m.to for m in mail.outbox if "switched off" in m.subject] == [[owner.email]]


def test_a_worker_killed_between_claim_and_record_resends_after_the_lease(store, endpoint, receiver):
    make_orders(store)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() + LEASE)  # claimed, then it died

    assert resend_due_deliveries() == 0 and receiver.received == []
    with time_machine.travel(timezone.now() + LEASE + timedelta(seconds=1)):
        assert resend_due_deliveries() == 1

    delivery.refresh_from_db()
    assert delivery.status == "sent" and len(receiver.received) == 1


class TestUnsafeUrls:
    @pytest.mark.parametrize(
        "url",
        ["http://127.0.0.1:9/hooks", "http://10.0.0.8/hooks", "http://169.254.169.254/latest", "http://localhost/"],
    )
    def test_private_and_loopback_urls_are_refused_when_registered(self, store, url, settings):
        settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

        with pytest.raises(ValidationError) as refused:
            endpoint_create(merchant=store.merchant, url=url, events=[])

        assert "private address" in str(refused.value)

    def test_an_address_that_turns_private_is_refused_when_sending(self, store, endpoint, receiver, settings):
        make_orders(store)
        settings.WEBHOOK_ALLOW_PRIVATE_URLS = False  # as if the name now resolved to 127.0.0.1

        delivery_send(delivery_id=Delivery.objects.get().pk)

        assert receiver.received == []
        assert "private address 127.0.0.1" in Delivery.objects.get().attempt_log.get().error

    def test_redirects_are_not_followed(self, store, endpoint, receiver):
        receiver.answers = [(302, "http://169.254.169.254/latest/meta-data")]
        make_orders(store)

        delivery_send(delivery_id=Delivery.objects.get().pk)

        assert len(receiver.received) == 1
        attempt = Delivery.objects.get().attempt_log.get()
        assert attempt.status_code == 302 and not attempt.succeeded

    def test_production_wants_https(self, store, settings):
        settings.WEBHOOK_HTTPS_ONLY = True

        with pytest.raises(ValidationError, match="https"):
            endpoint_create(merchant=store.merchant, url="http://shop.example/hooks", events=[])

    def test_unknown_event_types_are_refused(self, store, endpoint):
        with pytest.raises(ValidationError, match=r"order\.teleported"):
            endpoint_update(endpoint=endpoint, events=["order.teleported"])


def test_a_switched_off_endpoint_gets_nothing_but_test_events(store, endpoint, receiver):
    make_orders(store)
    endpoint_update(endpoint=endpoint, is_active=False)

    delivery_send(delivery_id=Delivery.objects.get().pk)

    assert receiver.received == []
    assert (delivery := Delivery.objects.get()).status == "failed" and "switched off" in delivery.last_error


class TestReviewFindings:
    @pytest.mark.parametrize("address", ["100.100.100.200", "::ffff:127.0.0.1", "2002:7f00:1::1", "224.0.0.1"])
    def test_shared_mapped_6to4_and_multicast_addresses_are_not_public(self, address):
        from webhooks.sending import is_public

        assert not is_public(address)

    def test_a_port_out_of_range_is_a_400_not_a_500(self, store):
        with pytest.raises(ValidationError, match="port"):
            endpoint_create(merchant=store.merchant, url="https://93.184.215.14:99999/x", events=[])

    def test_only_approved_merchants_set_up_webhooks(self, receiver):
        from common.errors import NotAllowedError
        from tests.factories import MerchantFactory

        pending = MerchantFactory(status="pending")

        with pytest.raises(NotAllowedError, match="waiting for approval"):
            endpoint_create(merchant=pending, url=receiver.url, events=[])

    def test_a_second_rotation_within_the_overlap_is_refused(self, endpoint):
        from common.errors import TransitionError

        endpoint_rotate_secret(endpoint=endpoint)
        with pytest.raises(TransitionError, match="less than 24 hours ago"):
            endpoint_rotate_secret(endpoint=endpoint)
