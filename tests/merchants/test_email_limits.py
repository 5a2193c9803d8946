"""Emails anyone can make us send are limited per account and per client: invitations, signups, password resets."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from merchants.models import Invitation, Merchant
from merchants.services import email_limit
from notifications.models import Notification
from tests.factories import MembershipFactory
from tests.merchants.test_onboarding import SIGNUP

pytestmark = pytest.mark.django_db


def test_the_limits_come_from_settings(settings):
    assert [email_limit(kind) for kind in ("invitation", "signup", "password_reset")] == [
        (10, "hour", 3600),
        (5, "hour", 3600),
        (5, "hour", 3600),
    ]
    settings.SIGNUP_RATE_LIMIT = "20/day"
    assert email_limit("signup") == (20, "day", 86400)


class TestInvitations:
    def invite(self, client, email, remote="10.0.0.1"):
        return client.post(reverse("team"), {"email": email}, REMOTE_ADDR=remote)

    def test_over_the_limit_per_account_nothing_is_sent(
        self, owner_client, settings, django_capture_on_commit_callbacks
    ):
        settings.INVITATION_RATE_LIMIT = "2/hour"

        with django_capture_on_commit_callbacks(execute=True):
            responses = [self.invite(owner_client, f"jo{n}@shop.example", f"10.0.0.{n}") for n in range(3)]

        assert [r.status_code for r in responses] == [302, 302, 429]
        assert "Too many invitations have been sent for now (at most 2 an hour)" in responses[2].content.decode()
        assert Invitation.objects.count() == 2 and len(mail.outbox) == 2

        # an hour later the account may invite again
        with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
            assert self.invite(owner_client, "jo9@shop.example").status_code == 302

    def test_over_the_limit_per_client_another_account_is_refused_too(self, owner_client, client, settings):
        settings.INVITATION_RATE_LIMIT = "2/hour"
        self.invite(owner_client, "a@shop.example")
        self.invite(owner_client, "b@shop.example")
        other = Client()
        other.force_login(MembershipFactory().user)

        assert self.invite(other, "c@shop.example").status_code == 429
        assert self.invite(other, "c@shop.example", remote="10.0.0.2").status_code == 302

    def test_a_pending_merchant_cannot_invite(self, client):
        member = MembershipFactory(merchant__status=Merchant.Status.PENDING)
        client.force_login(member.user)

        page = client.get(reverse("team")).content.decode()
        response = self.invite(client, "jo@shop.example")

        assert "waiting for approval by the program team, so you cannot invite team members yet" in page
        assert response.status_code == 403 and not Invitation.objects.exists() and not mail.outbox


class TestSignups:
    def test_over_the_limit_per_client_nothing_is_created_or_sent(
        self, client, settings, django_capture_on_commit_callbacks
    ):
        settings.SIGNUP_RATE_LIMIT = "2/hour"

        with django_capture_on_commit_callbacks(execute=True):
            responses = [
                Client().post(reverse("signup"), SIGNUP | {"email": f"ana{n}@cactus.example"}, REMOTE_ADDR="10.0.0.7")
                for n in range(3)
            ]

        assert [r.status_code for r in responses] == [302, 302, 429]
        assert "Too many sign-ups" in responses[2].content.decode()
        assert Merchant.objects.count() == 2 and len(mail.outbox) == 2
        elsewhere = Client().post(reverse("signup"), SIGNUP | {"email": "ana9@cactus.example"}, REMOTE_ADDR="10.0.0.8")
        assert elsewhere.status_code == 302


class TestPasswordResets:
    @pytest.fixture(autouse=True)
    def limit(self, settings):
        settings.PASSWORD_RESET_RATE_LIMIT = "2/hour"

    def ask(self, client, email, remote):
        return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=remote)

    def test_over_the_limit_per_address_the_form_says_so_and_nothing_is_sent(
        self, client, owner, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            responses = [self.ask(client, owner.email, f"10.0.1.{n}") for n in range(3)]

        assert [r.status_code for r in responses] == [302, 302, 429]
        assert "Too many password resets have been asked for" in responses[2].content.decode()
        assert Notification.objects.filter(template="password_reset").count() == 2

    def test_over_the_limit_per_client_even_for_unknown_addresses(self, client, owner):
        self.ask(client, "nobody@shop.example", "10.0.2.1")
        self.ask(client, "nobody-else@shop.example", "10.0.2.1")

        response = self.ask(client, owner.email, "10.0.2.1")

        assert response.status_code == 429 and not Notification.objects.exists()

    def test_under_djangos_own_view_nothing_is_sent_and_the_next_page_says_why(
        self, client, owner, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(2):
                self.ask(client, owner.email, f"10.0.3.{n}")
            response = client.post(
                reverse("password_reset"), {"email": owner.email}, REMOTE_ADDR="10.0.3.9", follow=True
            )

        page = response.content.decode()
        assert "Too many password resets have been asked for" in page and "on its way" not in page
        assert Notification.objects.filter(template="password_reset").count() == 2
