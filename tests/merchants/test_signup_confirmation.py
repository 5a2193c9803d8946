"""A signup confirms its owner's email before the program admins are asked to approve it."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from merchants.models import Merchant
from notifications.models import Notification
from tests.factories import MembershipFactory, UserFactory
from tests.merchants.test_onboarding import SIGNUP

pytestmark = pytest.mark.django_db


@pytest.fixture
def program_admin(db):
    return UserFactory(username="admin", email="admin@program.example", is_staff=True, is_superuser=True)


@pytest.fixture
def signed_up(client, program_admin, django_capture_on_commit_callbacks):
    """A shop just signed up: its owner is logged in and has the confirmation email."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("signup"), SIGNUP)
    assert response.status_code == 302, response.context and response.context["form"].errors
    return Merchant.objects.get()


def confirmation_link(message) -> str:
    return re.search(r"http://testserver(/signup/confirm/\S+/)", message.body).group(1)


def test_signup_emails_the_owner_a_link_and_not_the_admins(client, signed_up):
    assert signed_up.status == Merchant.Status.PENDING and signed_up.email_confirmed_at is None
    assert [m.to for m in mail.outbox] == [["ana@cactuscandles.example"]]
    assert "Confirm your email" in mail.outbox[0].subject
    page = client.get(reverse("email_confirmation")).content.decode()
    assert "ana@cactuscandles.example" in page and "Send the link again" in page


def test_the_outbox_does_not_keep_the_link(signed_up):
    token = confirmation_link(mail.outbox[0]).strip("/").split("/")[-1]

    notification = Notification.objects.get(template="merchant_confirm_email")

    assert notification.secret and notification.status == "sent" and token not in notification.body


def test_until_confirmed_the_owner_can_do_nothing(client, signed_up):
    for name in ("dashboard", "order_list", "store_list", "store_create", "team", "api_keys", "order_import"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url == reverse("email_confirmation"), name
    api = APIClient()
    api.force_login(signed_up.memberships.get().user)
    response = api.get("/api/v1/orders/")
    assert response.status_code == 403 and "Confirm your email" in response.json()["detail"]


def test_the_link_confirms_once_and_only_then_asks_the_admins(client, signed_up, django_capture_on_commit_callbacks):
    link = confirmation_link(mail.outbox[0])
    anonymous = client.__class__()

    # opening the link (a mail scanner does too) confirms nothing yet
    assert "Confirm my email" in anonymous.get(link).content.decode()
    assert Merchant.objects.get().email_confirmed_at is None

    # the button does; a second click changes nothing and emails nobody again
    with django_capture_on_commit_callbacks(execute=True):
        response = anonymous.post(link)
        anonymous.post(link)

    assert response.status_code == 302 and response.url == reverse("dashboard")
    assert Merchant.objects.get().email_confirmed_at is not None
    assert [m.to for m in mail.outbox[1:]] == [["admin@program.example"]]
    assert "waiting for approval: Cactus Candles" in mail.outbox[1].subject
    assert "confirmed its email" in mail.outbox[1].body
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200 and "waiting for approval" in dashboard.content.decode()


def test_an_expired_link_says_so_and_offers_a_new_one(client, signed_up, django_capture_on_commit_callbacks):
    link = confirmation_link(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1)):
        response = client.post(link)

    assert response.status_code == 400
    page = response.content.decode()
    assert "This link has expired" in page and "links work for 2 days" in page
    assert reverse("email_confirmation") in page
    assert Merchant.objects.get().email_confirmed_at is None

    # the owner asks for a new link, which works
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("email_confirmation")).status_code == 302
    client.post(confirmation_link(mail.outbox[-1]))
    assert Merchant.objects.get().email_confirmed_at is not None


@pytest.mark.parametrize("mangle", [lambda link: link[:-8] + "xxxxxxx/", lambda link: "/signup/confirm/made-up/"])
def test_an_altered_or_made_up_link_is_refused(client, signed_up, mangle):
    response = client.get(mangle(confirmation_link(mail.outbox[0])))

    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert Merchant.objects.get().email_confirmed_at is None


def test_a_link_for_an_address_the_account_no_longer_has_is_refused(client, signed_up):
    Merchant.objects.update(contact_email="someone-else@cactuscandles.example")

    response = client.post(confirmation_link(mail.outbox[0]))

    assert response.status_code == 400 and "email has changed" in response.content.decode()
    assert Merchant.objects.get().email_confirmed_at is None


def test_an_anonymous_visitor_with_an_expired_link_is_asked_to_log_in(signed_up, client):
    link = confirmation_link(mail.outbox[0])
    anonymous = client.__class__()

    with time_machine.travel(timezone.now() + timedelta(days=3)):
        page = anonymous.get(link).content.decode()

    assert "Log in to get a new link" in page


def test_resending_is_rate_limited(client, signed_up, settings, django_capture_on_commit_callbacks):
    settings.SIGNUP_RATE_LIMIT = "2/hour"
    with django_capture_on_commit_callbacks(execute=True):  # per account, whatever the client
        first = client.post(reverse("email_confirmation"), REMOTE_ADDR="10.0.0.9")
        second = client.post(reverse("email_confirmation"), REMOTE_ADDR="10.0.0.10")
        third = client.post(reverse("email_confirmation"), REMOTE_ADDR="10.0.0.11")

    assert first.status_code == second.status_code == 302
    assert third.status_code == 429 and "Too many" in third.content.decode()
    assert len(mail.outbox) == 3  # the signup's and two new links


def test_the_admin_cannot_approve_before_the_email_is_confirmed(
    client, signed_up, program_admin, django_capture_on_commit_callbacks
):
    admin = client.__class__()
    admin.force_login(program_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("admin:merchants_merchant_changelist"),
            {"action": "approved_selected", "_selected_action": [signed_up.pk]},
            follow=True,
        )

    assert "has not confirmed its email address yet" in response.content.decode()
    assert Merchant.objects.get().status == Merchant.Status.PENDING


def test_a_confirmed_owner_going_to_the_confirmation_page_is_sent_on(owner_client):
    assert owner_client.get(reverse("email_confirmation")).url == reverse("dashboard")


def test_merchants_made_by_the_admin_or_before_this_start_confirmed():
    assert MembershipFactory().merchant.email_confirmed_at is not None
